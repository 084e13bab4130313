// Package config loads SelfDB's typed configuration from the environment
// (api.md §11) and validates it at start-up. Every variable is documented with
// its default in configs/selfdb.example.env; a test keeps the two in step.
package config

// Package config loads SelfDB's typed configuration from the environment
// (api.md §11) and validates it at start-up. Every variable is documented with
// its default in configs/selfdb.example.env; a test keeps the two in step.
//
// Modules keep their own variables in sections (see Section): structs with
// the same tags, read from the environment Config came from and validated
// with errors that name the variable; each module's tests check that its
// variables are documented (Undocumented).
package config

// Package logging builds the process's zap logger (JSON by default, console
// with LOG_FORMAT=console) and gives request handlers a logger that carries
// the request id.
package logging

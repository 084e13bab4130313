// Package apperr defines the one error type every module returns. The HTTP
// server's ErrorHandler is the single place that turns it into a status and the
// contract's body ({"detail","code"}); causes never reach clients.
//
// Each code is declared once, as a package-level variable in the errors.go
// of the package that owns it, and listed in that package's doc.go; shared
// codes live in platform/identity, platform/db and platform/httpserver.
// registry_test.go holds every package to it.
//
// Error codes: internal (500, the cause is logged and never shown),
// validation_failed (422, detail is the list of FieldErrors).
package apperr

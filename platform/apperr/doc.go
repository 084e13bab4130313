// Package apperr defines the one error type every module returns. The HTTP
// server's ErrorHandler is the single place that turns it into a status and the
// contract's body ({"detail","code"}); causes never reach clients.
package apperr

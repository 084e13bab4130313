package db

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/selfdb/selfdb/platform/apperr"
)

// ErrUnavailable is what callers see when Postgres can't be reached.
var ErrUnavailable = apperr.Unavailable("database_unavailable", "Database unavailable, try again shortly").
	WithHeader("Retry-After", "2")

// ErrBusy is what callers see when no connection freed up in time: the pool
// stayed full for DB_ACQUIRE_TIMEOUT, or the request's database deadline
// (config.DBRequestTimeout) passed.
var ErrBusy = apperr.Unavailable("database_busy", "Database busy, try again shortly").
	WithHeader("Retry-After", "1")

// ErrNoRows reports whether err is "no rows".
func ErrNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// SQLState returns the SQLSTATE of a server error, or "".
func SQLState(err error) string {
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		return pe.Field('C')
	}
	return ""
}

// Constraint returns the constraint named by a server error, or "".
func Constraint(err error) string {
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		return pe.Field('n')
	}
	return ""
}

// Message returns the server's human-readable message (with its detail line),
// safe to show for errors the caller's data caused.
func Message(err error) string {
	var pe pgdriver.Error
	if !errors.As(err, &pe) {
		return ""
	}
	msg := pe.Field('M')
	if d := pe.Field('D'); d != "" {
		msg += ": " + d
	}
	return msg
}

// Err is the single place that turns a driver error into an apperr kind:
// data the caller sent (unique, foreign key, not-null, check, bad value) is a
// 4xx with the server's message; an unreachable or silent database is 503
// database_unavailable, a missed deadline 503 database_busy; anything else
// is Internal (the cause is logged, never shown). apperr errors and nil
// pass through.
func Err(err error) error {
	if err == nil {
		return nil
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	if state := SQLState(err); state != "" {
		return fromState(state, err)
	}
	// Before IsConnectionError: context.DeadlineExceeded is a net.Error too.
	// A deadline passes while waiting for a connection, or database/sql
	// ends a transaction whose deadline passed (ErrTxDone at its next use):
	// either way the caller may try again.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sql.ErrTxDone) {
		return ErrBusy.Wrap(err)
	}
	if IsConnectionError(err) {
		return ErrUnavailable.Wrap(err)
	}
	return apperr.Internal(err)
}

func fromState(state string, err error) error {
	msg := Message(err)
	switch {
	case state == "23505":
		return apperr.Conflict("unique_violation", msg).Wrap(err)
	case state == "23503":
		return apperr.Conflict("foreign_key_violation", msg).Wrap(err)
	case state == "23502":
		return apperr.Invalid("not_null_violation", msg).Wrap(err)
	case state == "23514":
		return apperr.Invalid("check_violation", msg).Wrap(err)
	case state == "23P01":
		return apperr.Conflict("exclusion_violation", msg).Wrap(err)
	case strings.HasPrefix(state, "22"):
		return apperr.Invalid("invalid_value", msg).Wrap(err)
	case state == "57014":
		return apperr.Timeout("statement_timeout", "The statement ran past its time limit").Wrap(err)
	case state == "40001" || state == "40P01":
		return apperr.Conflict("serialization_failure", "Concurrent update, retry the request").Wrap(err)
	case state == "42703":
		return apperr.Invalid("undefined_column", msg).Wrap(err)
	case state == "42P01":
		return apperr.NotFound("undefined_table", msg).Wrap(err)
	case state == "42501":
		return apperr.Forbidden("insufficient_privilege", msg).Wrap(err)
	case state == "25006":
		return apperr.Invalid("read_only_transaction", msg).Wrap(err)
	case strings.HasPrefix(state, "08") || state == "57P01" || state == "57P02" || state == "57P03" || state == "53300":
		return ErrUnavailable.Wrap(err)
	}
	return apperr.Internal(err)
}

// IsConnectionError reports whether err means Postgres could not be reached
// or the connection broke.
func IsConnectionError(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, sql.ErrConnDone)
}

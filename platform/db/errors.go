package db

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
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

// ErrMessageTooLong is a server error whose text did not fit the
// connection's read buffer (see readBufferSize). Postgres only writes such
// messages to repeat a huge value the caller sent, so it is the caller's
// request the server refused, not an outage; the driver closes the connection.
var ErrMessageTooLong = apperr.Invalid("database_message_too_long",
	"The database rejected the request; its message was too long to show")

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
	if errors.Is(err, bufio.ErrBufferFull) {
		return ErrMessageTooLong.Wrap(err)
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

// errLockNotAvailable is a lock the statement could not get in time: the
// statement did nothing, so a retry is safe.
var errLockNotAvailable = apperr.Unavailable("lock_not_available", "The data is busy, try again shortly").
	WithHeader("Retry-After", "1")

// fromState maps a SQLSTATE: first the conditions with a code of their own,
// then whole classes. Every class a caller's request can cause is a 4xx (a
// 5xx makes SDKs retry, inserts included); the server's message is shown for
// those because it is about the caller's data or statement. The rest (our
// own bugs, server trouble) is Internal, and the error handler logs it.
func fromState(state string, err error) error {
	if len(state) != 5 {
		return apperr.Internal(err)
	}
	msg := Message(err)
	switch state {
	case "23505":
		return apperr.Conflict("unique_violation", msg).Wrap(err)
	case "23503", "23001": // 23001: a RESTRICT foreign key
		return apperr.Conflict("foreign_key_violation", msg).Wrap(err)
	case "23502":
		return apperr.Invalid("not_null_violation", msg).Wrap(err)
	case "23514":
		return apperr.Invalid("check_violation", msg).Wrap(err)
	case "23P01":
		return apperr.Conflict("exclusion_violation", msg).Wrap(err)
	case "57014":
		return apperr.Timeout("statement_timeout", "The statement ran past its time limit").Wrap(err)
	case "40001", "40P01":
		return apperr.Conflict("serialization_failure", "Concurrent update, retry the request").Wrap(err)
	case "42703":
		return apperr.Invalid("undefined_column", msg).Wrap(err)
	case "42P01":
		return apperr.NotFound("undefined_table", msg).Wrap(err)
	case "42883":
		return apperr.Invalid("undefined_function", msg).Wrap(err)
	case "42704":
		return apperr.Invalid("undefined_object", msg).Wrap(err)
	case "42P07", "42701", "42710", "42P06", "42723", "42712":
		return apperr.Conflict("duplicate_object", msg).Wrap(err)
	case "42804", "42846", "42P18":
		return apperr.Invalid("datatype_mismatch", msg).Wrap(err)
	case "42501":
		return apperr.Forbidden("insufficient_privilege", msg).Wrap(err)
	case "42601":
		// Statements reaching here are built by SelfDB, with every value
		// and identifier quoted (the SQL console reports its own errors):
		// a syntax error is our bug.
		return apperr.Internal(err)
	case "25006":
		return apperr.Invalid("read_only_transaction", msg).Wrap(err)
	case "55P03":
		return errLockNotAvailable.Wrap(err)
	case "P0001":
		// RAISE EXCEPTION in a trigger or function: the table owner's own
		// validation of the caller's data.
		return apperr.Invalid("raised_exception", msg).Wrap(err)
	}
	switch state[:2] {
	case "0A":
		return apperr.Invalid("feature_not_supported", msg).Wrap(err)
	case "21":
		return apperr.Invalid("cardinality_violation", msg).Wrap(err)
	case "22":
		return apperr.Invalid("invalid_value", msg).Wrap(err)
	case "23":
		return apperr.Conflict("integrity_violation", msg).Wrap(err)
	case "2B":
		return apperr.Conflict("has_dependents", msg).Wrap(err)
	case "40":
		return apperr.Conflict("transaction_rollback", msg).Wrap(err)
	case "42":
		return apperr.Invalid("invalid_statement", msg).Wrap(err)
	case "44":
		return apperr.Invalid("with_check_option_violation", msg).Wrap(err)
	case "54":
		return apperr.Invalid("program_limit_exceeded", msg).Wrap(err)
	case "55":
		return apperr.Conflict("object_not_in_prerequisite_state", msg).Wrap(err)
	case "08", "53", "57":
		// Connection trouble, exhausted resources (connections, memory,
		// disk), shutdown or restart: the database, not the request.
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

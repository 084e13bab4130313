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

// The errors Err maps SQLSTATEs to (design.md §3). Those caused by the
// caller's data carry the server's message instead of the one here.
var (
	// ErrUniqueViolation answers Postgres' unique violation.
	ErrUniqueViolation = apperr.Conflict("unique_violation", "A row with this value already exists")
	// ErrForeignKeyViolation answers Postgres' foreign key violation.
	ErrForeignKeyViolation = apperr.Conflict("foreign_key_violation", "The row references a row that does not exist, or is referenced by another")
	// ErrNotNullViolation answers Postgres' not null violation.
	ErrNotNullViolation = apperr.Invalid("not_null_violation", "A required value is missing")
	// ErrCheckViolation answers Postgres' check violation.
	ErrCheckViolation = apperr.Invalid("check_violation", "A value breaks a check constraint")
	// ErrExclusionViolation answers Postgres' exclusion violation.
	ErrExclusionViolation = apperr.Conflict("exclusion_violation", "The row conflicts with an existing row")
	// ErrStatementTimeout answers Postgres' statement timeout.
	ErrStatementTimeout = apperr.Timeout("statement_timeout", "The statement ran past its time limit")
	// ErrSerializationFailure answers Postgres' serialization failure.
	ErrSerializationFailure = apperr.Conflict("serialization_failure", "Concurrent update, retry the request")
	// ErrUndefinedColumn answers Postgres' undefined column.
	ErrUndefinedColumn = apperr.Invalid("undefined_column", "Unknown column")
	// ErrUndefinedTable answers Postgres' undefined table.
	ErrUndefinedTable = apperr.NotFound("undefined_table", "Unknown table")
	// ErrUndefinedFunction answers Postgres' undefined function.
	ErrUndefinedFunction = apperr.Invalid("undefined_function", "Unknown function")
	// ErrUndefinedObject answers Postgres' undefined object.
	ErrUndefinedObject = apperr.Invalid("undefined_object", "Unknown object")
	// ErrDuplicateObject answers Postgres' duplicate object.
	ErrDuplicateObject = apperr.Conflict("duplicate_object", "The object already exists")
	// ErrDatatypeMismatch answers Postgres' datatype mismatch.
	ErrDatatypeMismatch = apperr.Invalid("datatype_mismatch", "Mismatched data types")
	// ErrInsufficientPrivilege answers Postgres' insufficient privilege.
	ErrInsufficientPrivilege = apperr.Forbidden("insufficient_privilege", "Permission denied")
	// ErrReadOnlyTransaction answers Postgres' read only transaction.
	ErrReadOnlyTransaction = apperr.Invalid("read_only_transaction", "Cannot write in a read-only transaction")
	// ErrRaisedException answers Postgres' raised exception.
	ErrRaisedException = apperr.Invalid("raised_exception", "The database refused the data")
	// ErrFeatureNotSupported answers Postgres' feature not supported.
	ErrFeatureNotSupported = apperr.Invalid("feature_not_supported", "Not supported by the database")
	// ErrCardinalityViolation answers Postgres' cardinality violation.
	ErrCardinalityViolation = apperr.Invalid("cardinality_violation", "The statement affected a row more than once, or a subquery returned more than one row")
	// ErrInvalidValue answers Postgres' invalid value.
	ErrInvalidValue = apperr.Invalid("invalid_value", "Invalid value")
	// ErrIntegrityViolation answers Postgres' integrity violation.
	ErrIntegrityViolation = apperr.Conflict("integrity_violation", "The data breaks an integrity constraint")
	// ErrHasDependents answers Postgres' has dependents.
	ErrHasDependents = apperr.Conflict("has_dependents", "Other objects depend on it")
	// ErrTransactionRollback answers Postgres' transaction rollback.
	ErrTransactionRollback = apperr.Conflict("transaction_rollback", "The transaction was rolled back, retry the request")
	// ErrInvalidStatement answers Postgres' invalid statement.
	ErrInvalidStatement = apperr.Invalid("invalid_statement", "Invalid statement")
	// ErrWithCheckOptionViolation answers Postgres' with check option violation.
	ErrWithCheckOptionViolation = apperr.Invalid("with_check_option_violation", "The row is outside the view it was written through")
	// ErrProgramLimitExceeded answers Postgres' program limit exceeded.
	ErrProgramLimitExceeded = apperr.Invalid("program_limit_exceeded", "A database limit was exceeded")
	// ErrObjectNotInPrerequisiteState answers Postgres' object not in prerequisite state.
	ErrObjectNotInPrerequisiteState = apperr.Conflict("object_not_in_prerequisite_state", "The object is not in a state that allows this")
)

// serverSays is e with the server's message, when it has one.
func serverSays(e *apperr.Error, msg string) *apperr.Error {
	if msg == "" {
		return e
	}
	return e.WithMessage("%s", msg)
}

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
		return serverSays(ErrUniqueViolation, msg).Wrap(err)
	case "23503", "23001": // 23001: a RESTRICT foreign key
		return serverSays(ErrForeignKeyViolation, msg).Wrap(err)
	case "23502":
		return serverSays(ErrNotNullViolation, msg).Wrap(err)
	case "23514":
		return serverSays(ErrCheckViolation, msg).Wrap(err)
	case "23P01":
		return serverSays(ErrExclusionViolation, msg).Wrap(err)
	case "57014":
		return ErrStatementTimeout.Wrap(err)
	case "40001", "40P01":
		return ErrSerializationFailure.Wrap(err)
	case "42703":
		return serverSays(ErrUndefinedColumn, msg).Wrap(err)
	case "42P01":
		return serverSays(ErrUndefinedTable, msg).Wrap(err)
	case "42883":
		return serverSays(ErrUndefinedFunction, msg).Wrap(err)
	case "42704":
		return serverSays(ErrUndefinedObject, msg).Wrap(err)
	case "42P07", "42701", "42710", "42P06", "42723", "42712":
		return serverSays(ErrDuplicateObject, msg).Wrap(err)
	case "42804", "42846", "42P18":
		return serverSays(ErrDatatypeMismatch, msg).Wrap(err)
	case "42501":
		return serverSays(ErrInsufficientPrivilege, msg).Wrap(err)
	case "42601":
		// Statements reaching here are built by SelfDB, with every value
		// and identifier quoted (the SQL console reports its own errors):
		// a syntax error is our bug.
		return apperr.Internal(err)
	case "25006":
		return serverSays(ErrReadOnlyTransaction, msg).Wrap(err)
	case "55P03":
		return errLockNotAvailable.Wrap(err)
	case "P0001":
		// RAISE EXCEPTION in a trigger or function: the table owner's own
		// validation of the caller's data.
		return serverSays(ErrRaisedException, msg).Wrap(err)
	}
	switch state[:2] {
	case "0A":
		return serverSays(ErrFeatureNotSupported, msg).Wrap(err)
	case "21":
		return serverSays(ErrCardinalityViolation, msg).Wrap(err)
	case "22":
		return serverSays(ErrInvalidValue, msg).Wrap(err)
	case "23":
		return serverSays(ErrIntegrityViolation, msg).Wrap(err)
	case "2B":
		return serverSays(ErrHasDependents, msg).Wrap(err)
	case "40":
		return serverSays(ErrTransactionRollback, msg).Wrap(err)
	case "42":
		return serverSays(ErrInvalidStatement, msg).Wrap(err)
	case "44":
		return serverSays(ErrWithCheckOptionViolation, msg).Wrap(err)
	case "54":
		return serverSays(ErrProgramLimitExceeded, msg).Wrap(err)
	case "55":
		return serverSays(ErrObjectNotInPrerequisiteState, msg).Wrap(err)
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

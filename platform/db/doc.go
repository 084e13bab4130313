// Package db opens Bun on pgdriver with explicit pool settings, applies the
// embedded migrations under an advisory lock, and owns the one helper that
// turns driver errors (SQLSTATEs) into apperr kinds. The driver choice stays
// inside this package.
//
// Error codes (Err): unique_violation, foreign_key_violation,
// exclusion_violation, integrity_violation, duplicate_object, has_dependents,
// serialization_failure, transaction_rollback,
// object_not_in_prerequisite_state (409); not_null_violation,
// check_violation, invalid_value, cardinality_violation,
// feature_not_supported, undefined_column, undefined_function,
// undefined_object, datatype_mismatch, invalid_statement,
// with_check_option_violation, program_limit_exceeded,
// read_only_transaction, raised_exception, database_message_too_long (400);
// insufficient_privilege (403); undefined_table (404);
// database_unavailable, database_busy, lock_not_available (503);
// statement_timeout (504); internal (500, logged, declared in apperr).
//
// Pools: the API's (APIPool, DB_MAX_OPEN_CONNS) bounds every statement by
// DB_QUERY_TIMEOUT, on the server and on the socket; LongPool serves work
// that may run long (migrations, the CLI, the SQL console's own pool) with
// DB_READ_TIMEOUT per round trip. Waiting for a connection is bounded by the
// caller's context (requests carry a database deadline, see httpserver),
// and by DB_ACQUIRE_TIMEOUT in Acquire and Gate: ErrBusy (503
// database_busy, Retry-After). A Postgres that cannot be reached or does not
// answer is ErrUnavailable (503 database_unavailable, Retry-After).
package db

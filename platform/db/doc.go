// Package db opens Bun on pgdriver with explicit pool settings, applies the
// embedded migrations under an advisory lock, and owns the one helper that
// turns driver errors (SQLSTATEs) into apperr kinds. The driver choice stays
// inside this package.
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

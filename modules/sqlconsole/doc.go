// Package sqlconsole is the superuser SQL console (api.md §7): scripts run
// statement by statement in one transaction, plus saved snippets and history.
//
// Routes: /api/v1/sql/query, /snippets, /history (superuser only).
//
// Running: Split cuts the script with Postgres' lexical rules. Each statement
// is prepared on one connection; the server's description (not the text)
// decides whether it returns rows, so SELECT, VALUES, SHOW, EXPLAIN and any
// RETURNING give columns and data. SET LOCAL statement_timeout
// (SQL_STATEMENT_TIMEOUT) bounds each statement and SQL_ROW_CAP each result
// (truncated:true past it). read_only runs a READ ONLY transaction; params
// bind $1.. of a single statement. A failing statement rolls everything back
// and answers 200 {success:false, error}. Whether the run wrote anything is
// asked of Postgres (txid_current_if_assigned); a run that wrote prunes
// policies of tables that no longer exist, and waits (up to 2 s) until this
// process has heard its changes in the change log, so that the caller's next
// request sees them (other instances hear them too, within milliseconds). Params are sent in the protocol's Bind message, never
// spliced into the text. Statements that would end the transaction (BEGIN,
// COMMIT, ROLLBACK, END, ABORT, PREPARE TRANSACTION) refuse the whole script
// before it runs (savepoints are fine), and a read_only run takes its
// snapshot first, so SET TRANSACTION READ WRITE cannot undo it.
//
// Connections: runs use the console's own Pool (SQL_CONSOLE_MAX_CONNS, round
// trips bounded by DB_READ_TIMEOUT), never the API's, and wait for one at most
// DB_ACQUIRE_TIMEOUT (503 database_busy). After each run the session is reset
// (DISCARD ALL), or the connection dropped when that fails, so what a script
// leaves behind (SET, LISTEN, temporary tables, advisory locks) reaches no
// other run; the history row is then written on that clean connection.
//
// History: every run is recorded (on the run's clean connection), marked
// as awaiting its echo. POST /history of a client that ran the query itself
// through /query (the original admin UI does, after each run) would list it
// twice: a report matching a run recorded for the same user within the last
// minute (same query text ignoring surrounding white space, same outcome:
// failed or not) and not matched before returns that entry (the server's
// timing and counts) instead of adding a twin. Other reports are stored as
// they come.
//
// Tables: selfdb.sql_snippets, selfdb.sql_history (deleted with the user via
// users.OwnedData).
//
// Error codes: snippet_not_found, validation_failed, database_busy.
package sqlconsole

// Package tables serves the users' own Postgres tables (api.md §6) and the
// schema overview (§8).
//
// Routes: /api/v1/tables (list, describe, rows, DDL) and /api/v1/schema.
// User tables are the base tables of schema public; SelfDB's own tables live
// in schema selfdb and are never reachable here.
//
// Tables: selfdb.table_policies holds each table's access policy (read,
// insert, update, delete: public | authenticated | owner | superuser, plus
// owner_column). A new table, and one without a row (created through SQL)
// when first seen, gets the default policy: read and insert authenticated;
// update and delete left unset (NULL), which means owner while the policy
// names an owner column and superuser otherwise, so that a table whose owner
// column comes later follows it (Policy.Effective). Every route, realtime
// and every response use the effective policy; the create response returns
// it. Rows written before that rule (all authenticated) keep their levels.
// The SQL console keeps
// the rows in step after each run that wrote: a table renamed in SQL keeps its
// policy (matched by OID), a dropped table's row is deleted. DDL done outside
// SelfDB (psql) is not followed: a table renamed there starts from the
// default policy.
//
// Safety: every identifier from a caller matches ^[A-Za-z_][A-Za-z0-9_]{0,62}$
// and is quoted; types come from an allow-list; defaults are escaped literals
// cast to the column type or now(), gen_random_uuid(), CURRENT_TIMESTAMP;
// row values are escaped literals cast to the column's catalog type (the
// driver interpolates arguments client-side anyway, so the escaping is ours
// and independent of standard_conforming_strings). Owner-level rows are
// filtered in SQL.
//
// Counts: row_count (GET /tables/{t}) and an unfiltered total_count are exact
// below 100,000 rows (pg_class.reltuples) and the planner's estimate above,
// so big tables stay cheap; filtered counts are always exact.
//
// Cache: each table's metadata (columns, keys, indexes, policy) is kept in
// process, not in memcached. The change log's schema.changed (DDL from any
// client, through the DDL event trigger) and policy.changed events drop it on
// every instance within milliseconds, whatever memcached does; this
// instance's own DDL routes drop it at once. A copy is trusted for at most
// 30 s, and not at all while the change-log reader is down.
//
// Policy check: Rule.Check is the one check of the row routes and of
// realtime (ReadRule), evaluated in memory.

// Error codes: table_not_found, table_exists, invalid_identifier,
// invalid_type, invalid_default, invalid_table, unknown_column,
// column_exists, column_in_primary_key, invalid_filter, invalid_order_by,
// invalid_select, invalid_value, empty_body, row_not_found, invalid_policy,
// batch_too_large, not_authenticated, not_enough_privileges plus the
// platform's database codes (unique_violation, has_dependents, ...: see
// platform/db).
package tables

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
// Reading rows (GET /tables/{t}/data): page (1), page_size (1–1000, 50),
// order_by, select, filter_column/filter_value and PostgREST-style filters
// col=op.value, plus (EXT) cursor and count below. The order is order_by
// followed by the primary key columns it lacks (ties keep one order, page
// after page), or the primary key, or, without one, the physical order.
// NULLs sort last ascending and first descending (Postgres' default). One
// query returns the total, the page and whether a row follows; the rows are
// formatted (timestamps as RFC 3339 UTC, numeric as text, JSON) after the
// LIMIT, so a deep page costs the index walk, not the formatting of every
// skipped row.
//
// Cursors (EXT, keyset pagination): on a table with a primary key, metadata
// carries next_cursor when rows follow the page, by page number or by
// cursor; ?cursor=<next_cursor> (with the same order_by, select and
// filters; page_size may change) serves the rows after the previous page's
// last row, in time independent of the depth when an index leads with the
// order column (rows tied on it are sorted by the primary key: an index on
// (column, primary key) makes that free too). Rows deleted between pages
// are neither skipped nor repeated among the survivors; rows inserted ahead
// of the cursor are seen. metadata.page is the number of rows before the
// page divided by page_size, plus one. A cursor is opaque: the last row's
// order key and the row count, HMAC-SHA256-signed with a key derived from
// SECRET_KEY (rotating it voids all cursors; cursors do not expire) and
// bound to the table (OID, so a recreated table is another), the select
// list, the filters with the caller's owner restriction (an owner-level
// cursor is its owner's only) and the order. A cursor the server did not
// make, made for another query, sent with page, or sent for a table
// without a primary key (which gets no next_cursor) is 400 invalid_cursor.
// Order keys travel as text in the URL: ordering by columns holding values
// of many kilobytes can make a cursor too long to send (16 KiB of request
// line and headers).
//
// Counts: row_count (GET /tables/{t}) and an unfiltered total_count are exact
// below 100,000 rows (pg_class.reltuples) and the planner's estimate from
// there, so big tables stay cheap; filtered (and owner-restricted) counts
// are exact. ?count= (EXT) or PostgREST's Prefer: count= (answered with
// Preference-Applied; ?count= wins) choose otherwise: exact always counts;
// planned is the planner's estimate for the request's filters (an EXPLAIN,
// one more round trip); estimated is exact below 100,000 estimated rows and
// the estimate from there; none skips counting (total_count and total_pages
// are null). Another value is 422 validation_failed. A parameter named
// count or cursor whose value reads as a filter (op.value) stays a filter on
// a column of that name.
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
//
// Error codes: table_not_found, table_exists, invalid_identifier,
// invalid_type, invalid_default, invalid_table, unknown_column,
// column_exists, column_in_primary_key, invalid_filter, invalid_order_by,
// invalid_select, invalid_value, invalid_cursor, empty_body, row_not_found,
// invalid_policy, batch_too_large, validation_failed, not_authenticated,
// not_enough_privileges plus the
// platform's database codes (unique_violation, has_dependents, ...: see
// platform/db).
package tables

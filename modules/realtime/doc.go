// Package realtime serves change feeds over WebSocket at
// /api/v1/realtime/ws (api.md §10): the protocol of §10.1 (authenticate
// frame, ?token= and ?apikey=, the anon key as token for anon), the JS
// SDK's channel dialect of §10.2, <table>_changes and tables_changes,
// ping/pong and server pings, and resume with "since" (§10.3).
//
// Source: the change log (platform/events). One Hub per process subscribes
// to the bus and fans each change out to the subscriptions of this
// process's connections; every instance reads the same log, so a change
// made through any instance, by any client (REST, SQL console, psql,
// functions), reaches subscribers on every instance, in change-log order.
//
// Authorization per event (§10.3): a subscription to a user table needs the
// table's read level at subscribe time (else an error frame with the REST
// API's code: not_authenticated, not_enough_privileges, table_not_found),
// and every event is checked again against the table's current rule
// (tables.Rule, from the metadata cache: never a query per subscriber):
// owner-level tables deliver only the subscriber's own rows. The original
// admin UI's feeds users_changes, buckets_changes, files_changes,
// functions_changes and function_env_vars_changes follow SelfDB's own
// tables, for superusers only, with rows stripped of password hashes and
// secret values by the capture trigger. (To follow a user table named
// "users", subscribe with data.table or the channel "users".)
//
// Frames: {"type":"database_change","subscription_id","event_id","data":
// {"operation","table","data","old_data"}}, plus "channel", "event" and
// "payload":{"eventType","table","new","old"} for subscriptions made by
// channel. Errors after authentication are {"type":"error","error","code",
// "subscription_id"?}; before it, {"error": "Invalid authentication" |
// "Authentication required"} and a close.
//
// Connections: each has a reader goroutine (the protocol) and, only while
// frames wait, a writer goroutine, with a bounded queue (REALTIME_SEND_QUEUE):
// a client that cannot keep up is disconnected, never waited for, so the
// others are not delayed. Close codes: 1000 normal; 1001 server shutting down
// (sent before the server stops); 1008 invalid authentication, token expired
// (unless the client authenticated again with a fresh token), account
// deactivated or deleted (within a second, on every instance); 1009 frame over
// REALTIME_MAX_FRAME_BYTES; 1011 authentication unavailable (database down);
// 1013 client too slow, or the server fell behind: reconnect and resume with
// since.
//
// Resume: subscribe with "since": <event_id> replays the missed events of the
// subscription from the log (within REALTIME_RETENTION), then continues live,
// in order and without duplicates; an id from before the pruned horizon
// gets an error frame since_too_old.
//
// Metrics: selfdb_realtime_connections, selfdb_realtime_subscriptions,
// selfdb_realtime_events_delivered_total, selfdb_realtime_events_dropped_total,
// selfdb_realtime_slow_disconnects_total, selfdb_realtime_lag_seconds
// (change written → frame written).
//
// Configuration: REALTIME_SEND_QUEUE, REALTIME_PING_INTERVAL,
// REALTIME_MAX_FRAME_BYTES, REALTIME_MAX_SUBSCRIPTIONS (this module's
// section); REALTIME_RETENTION (platform/events).
//
// Error codes: upgrade_required (426, the HTTP answer to a request that is
// not a WebSocket upgrade); in error frames: invalid_frame, unknown_type,
// invalid_subscription, invalid_since, too_many_subscriptions, and the codes
// of the REST API for the same causes (not_enough_privileges,
// invalid_identifier, table_not_found, since_too_old, database_unavailable).
package realtime

// Package events is SelfDB's change capture and its one event bus.
//
// Capture: an AFTER ROW trigger on every user table (attached by an event
// trigger on DDL, whoever runs it: the REST API, the SQL console or psql)
// writes each change to selfdb.change_log and calls pg_notify with an empty
// payload. SelfDB's own users, buckets, files and table_policies tables have
// a trigger that writes sanitized rows (never a password hash) under
// "selfdb.<table>"; DDL on public writes a "DDL" row. Rows never travel in
// the notification, so no row size can fail a write, and a transaction's
// notifications collapse into one wake-up. Writers notify only while some
// reader is cold: a reader that read changes within the last 2 s polls every
// 10 ms and says so in selfdb.change_readers. (A NOTIFY holds a
// database-wide lock from commit until the commit is flushed, so notifying
// transactions commit one at a time: notifying on every change cost 80% of
// the insert throughput in make bench.)
//
// Reading: every process runs one Reader (a supervised worker) on one
// LISTEN connection outside the pool, which it confirms by hearing a
// notification of its own before it catches up. It reads the log in id order from
// the last id it handed out, so after a reconnect (a Postgres restart)
// nothing is lost and nothing is doubled. Ids are taken when a row is
// written, not when its transaction commits, so a reader can see id n+1
// before id n commits: at such a gap it waits until every transaction that
// was running when it saw the gap has ended (Postgres snapshots tell), then
// skips what is still missing (rolled back). A transaction that keeps a gap
// open longer than GapTimeout is passed over and its rows, if they come,
// are delivered late.
//
// The Bus hands each event to the subscriptions whose filter takes it,
// through bounded queues: a subscriber that falls behind loses events
// (counted in selfdb_events_dropped_total and Subscription.Dropped), never
// delays the reader. Internal events are log rows too, so they reach every
// instance: TopicSchemaChanged, TopicUserChanged, TopicUserDeleted,
// TopicPolicyChanged (see Event.Topic).
//
// Retention: rows older than REALTIME_RETENTION are pruned by one instance
// at a time; Since refuses to replay from before the pruned horizon.
//
// Error codes: since_too_old.
package events

package events

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/db"
)

// Reader timings.
const (
	// GapTimeout is how long the reader waits for a transaction that holds
	// an older id than rows already committed; past it the rows after the
	// gap are delivered and the gap's rows, if they commit, come late.
	GapTimeout = 10 * time.Second
	// idlePoll re-reads the log when no notification came, which also
	// proves the connection alive; it bounds the delay of a change whose
	// writer skipped its notification just before this reader went cold.
	idlePoll = 500 * time.Millisecond
	// hotPoll re-reads the log while changes keep coming: writers skip
	// pg_notify then (see selfdb.change_readers).
	hotPoll = 10 * time.Millisecond
	// hotWindow is how long the reader stays hot after it last read a
	// change, and how far ahead it advertises it.
	hotWindow = 2 * time.Second
	// hotMargin: a reader keeps polling this long past what it advertised,
	// for transactions that checked just before.
	hotMargin = 250 * time.Millisecond
	// heartbeat is how often a reader proves itself alive in
	// change_readers; rows silent for staleReader are removed.
	heartbeat   = 10 * time.Second
	staleReader = time.Minute
	// gapPoll re-reads the log while waiting on a gap.
	gapPoll = 20 * time.Millisecond
	// batch is the most rows one poll reads.
	batch = 256
	// startWindow is how far back, at start, missing ids are watched for
	// transactions still in flight.
	startWindow = 1024
	// maxLate bounds the ids watched for late commits.
	maxLate = 10000
)

// Reader reads the change log into the Bus: one per process, a supervised
// worker (see package doc).
type Reader struct {
	db       *bun.DB
	bus      *Bus
	log      *zap.Logger
	gapT     time.Duration
	instance uuid.UUID

	// advertised is until when writers were told this reader polls (local
	// clock); lastRead when it last read a change; beat its last heartbeat.
	advertised, lastRead, beat time.Time

	started bool
	last    int64 // every id ≤ last was dispatched or will never exist (but late)
	// resolved: every missing id ≤ resolved will never exist.
	resolved int64
	pending  *gap
	late     map[int64][]uint64 // missing ids that may still commit → the transactions that could hold them
}

// gap is a hole in the ids the reader waits on.
type gap struct {
	blockers []uint64 // transactions running when the gap was seen
	horizon  int64    // the highest id seen then: the gap's ids are below it
	since    time.Time
}

// NewReader builds the reader of the bus.
func NewReader(d *bun.DB, bus *Bus, log *zap.Logger) *Reader {
	return &Reader{db: d, bus: bus, log: log.Named("events"), gapT: GapTimeout, instance: uuid.New(), late: map[int64][]uint64{}}
}

// SetGapTimeout changes GapTimeout (tests).
func (r *Reader) SetGapTimeout(d time.Duration) { r.gapT = d }

// Name is the worker's name.
func (r *Reader) Name() string { return "events.reader" }

// Run listens and reads until ctx ends, reconnecting after failures with a
// short back-off (a Postgres restart must not leave realtime silent long).
func (r *Reader) Run(ctx context.Context) error {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := r.session(ctx)
		r.bus.setLive(false)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > 5*time.Second {
			backoff = 50 * time.Millisecond
		}
		r.log.Warn("change log reader disconnected; reconnecting", zap.Error(err), zap.Duration("after", backoff))
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
	return nil
}

// session is one connection's life: listen, confirm, catch up, follow.
func (r *Reader) session(ctx context.Context) error {
	ln, err := db.Listen(ctx, r.db, Channel)
	if err != nil {
		return err
	}
	defer ln.Close()
	wake := make(chan struct{}, 1)
	acks := make(chan string, 4)
	failed := make(chan error, 1)
	recvCtx, stop := context.WithCancel(ctx)
	defer stop()
	go receive(recvCtx, ln, wake, acks, failed)

	if err := r.confirm(ctx, acks, failed); err != nil {
		return err
	}
	if !r.started {
		if err := r.start(ctx); err != nil {
			return err
		}
		r.started = true
	}
	if err := r.heartbeat(ctx, time.Now()); err != nil {
		return err
	}
	defer r.leave()
	for {
		more, err := r.poll(ctx)
		if err != nil {
			return err
		}
		r.bus.setLive(true)
		now := time.Now()
		if err := r.stayHot(ctx, now); err != nil {
			return err
		}
		if now.Sub(r.beat) > heartbeat {
			if err := r.heartbeat(ctx, now); err != nil {
				return err
			}
		}
		if more {
			continue
		}
		wait := idlePoll
		switch {
		case now.Before(r.advertised.Add(hotMargin)):
			wait = hotPoll
		case r.pending != nil || len(r.late) > 0:
			wait = gapPoll
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case err := <-failed:
			t.Stop()
			return err
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// stayHot keeps writers from notifying while changes keep coming: the
// reader advertises that it polls until hotWindow after it last read a
// change (renewed once a quarter of the window has passed).
func (r *Reader) stayHot(ctx context.Context, now time.Time) error {
	until := r.lastRead.Add(hotWindow)
	if !until.After(now) || until.Sub(r.advertised) < hotWindow/4 {
		return nil
	}
	if _, err := r.db.ExecContext(ctx, "UPDATE selfdb.change_readers SET hot_until = clock_timestamp() + ? * interval '1 microsecond' WHERE instance = ?",
		until.Sub(now).Microseconds(), r.instance); err != nil {
		return err
	}
	r.advertised = until
	return nil
}

// heartbeat registers the reader (cold until it reads changes) and removes
// readers that stopped beating (a crashed process would otherwise make
// every writer notify forever).
func (r *Reader) heartbeat(ctx context.Context, now time.Time) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO selfdb.change_readers (instance, hot_until) VALUES (?, ?)
ON CONFLICT (instance) DO UPDATE SET seen_at = now();
DELETE FROM selfdb.change_readers WHERE seen_at < now() - ? * interval '1 second'`, r.instance, r.advertised, int(staleReader.Seconds()))
	r.beat = now
	return err
}

// leave removes the reader's row (best effort: at stop, or after a broken
// connection; a row left behind goes after staleReader).
func (r *Reader) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _ = r.db.ExecContext(ctx, "DELETE FROM selfdb.change_readers WHERE instance = ?", r.instance)
	r.advertised = time.Time{}
}

// receive turns notifications into wake-ups (coalesced: many notifications
// during one poll make one more poll) and acknowledgements.
func receive(ctx context.Context, ln *db.Listener, wake chan<- struct{}, acks chan<- string, failed chan<- error) {
	for ctx.Err() == nil {
		payload, ok, err := ln.Wait(ctx, 30*time.Second)
		if err != nil {
			if ctx.Err() == nil {
				failed <- err
			}
			return
		}
		if !ok {
			continue
		}
		if strings.HasPrefix(payload, "ack:") {
			select {
			case acks <- payload:
			default:
			}
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// confirm proves the LISTEN is active by hearing a notification of its
// own: only then can a catch-up read be followed by notifications without
// a window in which a commit goes unheard.
func (r *Reader) confirm(ctx context.Context, acks <-chan string, failed <-chan error) error {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	want := "ack:" + hex.EncodeToString(b)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := db.Notify(ctx, r.db, Channel, want); err != nil {
			return fmt.Errorf("events: confirm listen: %w", err)
		}
		t := time.NewTimer(200 * time.Millisecond)
	wait:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case err := <-failed:
				t.Stop()
				return err
			case got := <-acks:
				if got == want {
					t.Stop()
					return nil
				}
			case <-t.C:
				break wait
			}
		}
	}
	return errors.New("events: LISTEN was not confirmed within 10s")
}

// start places the reader at the end of the log: history is for Since.
// Ids just below the end that are not visible yet may belong to
// transactions still in flight: they are watched as late.
func (r *Reader) start(ctx context.Context) error {
	var snapText, missing string
	var last int64
	err := r.db.QueryRowContext(ctx, `WITH m AS (SELECT coalesce(max(id), 0) AS m FROM selfdb.change_log)
SELECT pg_current_snapshot()::text, m.m, coalesce((SELECT array_agg(g) FROM generate_series(greatest(m.m - ?, 1), m.m) g
  WHERE NOT EXISTS (SELECT 1 FROM selfdb.change_log c WHERE c.id = g)), '{}')::text FROM m`, startWindow-1).Scan(&snapText, &last, &missing)
	if err != nil {
		return err
	}
	snap, err := parseSnapshot(snapText)
	if err != nil {
		return err
	}
	r.last, r.resolved = last, last
	r.bus.advance(last)
	if len(snap.xip) > 0 {
		for _, s := range strings.Split(strings.Trim(missing, "{}"), ",") {
			if id, err := strconv.ParseInt(s, 10, 64); err == nil {
				r.late[id] = snap.xip
			}
		}
	}
	return nil
}

// pollSQL reads, in one snapshot, the rows after last and the late ids,
// and the snapshot itself (always one row, even when the log has none).
const pollSQL = `SELECT s.snap, c.id, c.table_name, c.op, c.row::text, c.old_row::text, c.created_at
FROM (SELECT pg_current_snapshot()::text AS snap) s
LEFT JOIN LATERAL (SELECT * FROM selfdb.change_log WHERE id > $1 OR id = ANY($2::bigint[]) ORDER BY id LIMIT $3) c ON true
ORDER BY c.id`

// poll reads and dispatches what it can; more reports a full batch.
func (r *Reader) poll(ctx context.Context) (more bool, err error) {
	rows, err := r.db.DB.QueryContext(ctx, pollSQL, r.last, r.lateArray(), batch)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var snap snapshot
	var events []*Event
	for rows.Next() {
		var snapText string
		var id sql.NullInt64
		var table, op, row, old sql.NullString
		var at sql.NullTime
		if err := rows.Scan(&snapText, &id, &table, &op, &row, &old, &at); err != nil {
			return false, err
		}
		if snap.xmax == 0 {
			if snap, err = parseSnapshot(snapText); err != nil {
				return false, err
			}
		}
		if !id.Valid {
			continue
		}
		events = append(events, &Event{ID: id.Int64, Table: table.String, Op: op.String,
			Row: rawJSON(row), OldRow: rawJSON(old), CreatedAt: at.Time})
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	if len(events) > 0 {
		r.lastRead = time.Now()
	}
	r.follow(snap, events, time.Now())
	return len(events) == batch, nil
}

func rawJSON(s sql.NullString) json.RawMessage {
	if !s.Valid {
		return json.RawMessage("null")
	}
	return json.RawMessage(s.String)
}

func (r *Reader) lateArray() string {
	if len(r.late) == 0 {
		return "{}"
	}
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for id := range r.late {
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(strconv.FormatInt(id, 10))
	}
	b.WriteByte('}')
	return b.String()
}

// follow applies one poll: late rows that arrived, then the rows after
// last in order, stopping at a gap that may still fill.
func (r *Reader) follow(snap snapshot, events []*Event, now time.Time) {
	if r.pending != nil && snap.allEnded(r.pending.blockers) {
		r.resolved = max(r.resolved, r.pending.horizon)
		r.pending = nil
	}
	var fresh []*Event
	for _, e := range events {
		if _, ok := r.late[e.ID]; ok && e.ID <= r.last {
			delete(r.late, e.ID)
			r.log.Warn("change delivered late: its transaction committed after the reader moved on", zap.Int64("id", e.ID))
			r.deliver(e, now)
			continue
		}
		if e.ID > r.last {
			fresh = append(fresh, e)
		}
	}
	for id, blockers := range r.late {
		if snap.allEnded(blockers) && id <= r.last {
			delete(r.late, id) // rolled back
		}
	}
	for i, e := range fresh {
		if e.ID == r.last+1 || e.ID-1 <= r.resolved {
			r.deliverNext(e, now)
			continue
		}
		// Ids last+1 .. e.ID-1 are missing: either rolled back, or held
		// by a transaction that was running in this snapshot.
		if r.pending == nil {
			r.pending = &gap{blockers: snap.xip, horizon: fresh[len(fresh)-1].ID, since: now}
			if snap.allEnded(r.pending.blockers) {
				r.resolved = max(r.resolved, r.pending.horizon)
				r.pending = nil
				r.deliverNext(e, now)
				continue
			}
		}
		if now.Sub(r.pending.since) < r.gapT {
			return
		}
		r.log.Warn("change log gap held open too long; moving on, its rows will come late",
			zap.Int64("from", r.last+1), zap.Int64("to", e.ID-1), zap.Duration("waited", now.Sub(r.pending.since)))
		for id := r.last + 1; id < e.ID && len(r.late) < maxLate; id++ {
			r.late[id] = r.pending.blockers
		}
		r.resolved = max(r.resolved, r.pending.horizon)
		r.pending = nil
		r.follow(snap, fresh[i:], now)
		return
	}
}

// deliverNext dispatches the next event in order.
func (r *Reader) deliverNext(e *Event, now time.Time) {
	r.last = e.ID
	r.deliver(e, now)
}

func (r *Reader) deliver(e *Event, now time.Time) {
	r.bus.dispatched.Inc()
	if !e.CreatedAt.IsZero() {
		r.bus.lag.Observe(now.Sub(e.CreatedAt).Seconds())
	}
	r.bus.dispatch(e)
}

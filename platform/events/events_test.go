package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/events"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var seq atomic.Int64

// env is a started app with its bus.
type env struct {
	*testkit.App
	bus    *events.Bus
	reader *events.Reader
	log    *events.Log
}

func start(t *testing.T, opts ...testkit.Option) *env {
	t.Helper()
	e := &env{}
	opts = append(opts, testkit.With(fx.Populate(&e.bus, &e.reader, &e.log)))
	e.App = testkit.Start(t, opts...)
	waitLive(t, e.bus)
	return e
}

func waitLive(t *testing.T, b *events.Bus) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !b.Live() {
		if time.Now().After(deadline) {
			t.Fatal("the change log reader did not go live within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// table makes a fresh user table through plain SQL (the event trigger must
// attach the capture trigger) and returns its name.
func (e *env) table(t *testing.T, columns string) string {
	t.Helper()
	name := fmt.Sprintf("ev_%d_%d", time.Now().UnixNano()%1e6, seq.Add(1))
	e.sql(t, "CREATE TABLE "+name+" ("+columns+")")
	return name
}

func (e *env) sql(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := e.DB.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// next waits for the next event of sub (did not hang: 10 s).
func next(t *testing.T, sub *events.Subscription) *events.Event {
	t.Helper()
	select {
	case e := <-sub.C():
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return nil
}

// none asserts that nothing arrives for d.
func none(t *testing.T, sub *events.Subscription, d time.Duration) {
	t.Helper()
	select {
	case e := <-sub.C():
		t.Fatalf("unexpected event %d %s %s %s", e.ID, e.Table, e.Op, e.Row)
	case <-time.After(d):
	}
}

func onTable(name string) func(*events.Event) bool {
	return func(e *events.Event) bool { return e.Table == name }
}

func field(t *testing.T, raw json.RawMessage, key string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("row %s: %v", raw, err)
	}
	return m[key]
}

// Inserts, updates and deletes made in plain SQL on a table created in plain
// SQL arrive once each, in order, with the new and old rows.
func TestCapturesPlainSQL(t *testing.T) {
	e := start(t)
	name := e.table(t, "id serial PRIMARY KEY, v text")
	sub, _ := e.bus.Subscribe("test", onTable(name), 16)
	defer sub.Close()
	e.sql(t, "INSERT INTO "+name+" (v) VALUES ('a'), ('b')")
	e.sql(t, "UPDATE "+name+" SET v = 'c' WHERE id = 1")
	e.sql(t, "DELETE FROM "+name+" WHERE id = 2")
	want := []struct {
		op  string
		row any
		old any
	}{{"INSERT", "a", nil}, {"INSERT", "b", nil}, {"UPDATE", "c", "a"}, {"DELETE", nil, "b"}}
	var last int64
	for i, w := range want {
		ev := next(t, sub)
		if ev.Op != w.op || ev.ID <= last {
			t.Fatalf("event %d: %s id %d after %d, want %s", i, ev.Op, ev.ID, last, w.op)
		}
		last = ev.ID
		if string(ev.Row) != "null" {
			if got := field(t, ev.Row, "v"); got != w.row {
				t.Errorf("event %d row v=%v, want %v", i, got, w.row)
			}
		} else if w.row != nil {
			t.Errorf("event %d has no row", i)
		}
		if string(ev.OldRow) != "null" {
			if got := field(t, ev.OldRow, "v"); got != w.old {
				t.Errorf("event %d old v=%v, want %v", i, got, w.old)
			}
		} else if w.old != nil {
			t.Errorf("event %d has no old row", i)
		}
	}
	none(t, sub, 200*time.Millisecond)
}

// DDL on public, from plain SQL, is a schema.changed event; a user change is
// user.changed without the password hash; a policy change is policy.changed.
func TestInternalEvents(t *testing.T) {
	e := start(t)
	sub, _ := e.bus.Subscribe("test", events.Of(events.TopicSchemaChanged, events.TopicUserChanged, events.TopicUserDeleted, events.TopicPolicyChanged), 16)
	defer sub.Close()
	name := e.table(t, "id int PRIMARY KEY")
	if ev := next(t, sub); ev.Topic() != events.TopicSchemaChanged || !strings.Contains(string(ev.Row), "public."+name) {
		t.Fatalf("after CREATE TABLE: %s %s", ev.Topic(), ev.Row)
	}
	e.sql(t, "INSERT INTO selfdb.users (email, hashed_password) VALUES (?, 'secret-hash')", name+"@example.com")
	ev := next(t, sub)
	if ev.Topic() != events.TopicUserChanged || strings.Contains(string(ev.Row), "hashed_password") || strings.Contains(string(ev.Row), "secret-hash") {
		t.Fatalf("user insert: %s %s", ev.Topic(), ev.Row)
	}
	e.sql(t, "DELETE FROM selfdb.users WHERE email = ?", name+"@example.com")
	if ev := next(t, sub); ev.Topic() != events.TopicUserDeleted || strings.Contains(string(ev.OldRow), "secret-hash") {
		t.Fatalf("user delete: %s %s", ev.Topic(), ev.OldRow)
	}
	e.sql(t, "INSERT INTO selfdb.table_policies (table_name) VALUES (?)", name)
	// A system table captured without columns to strip still has its row.
	if ev := next(t, sub); ev.Topic() != events.TopicPolicyChanged || field(t, ev.Row, "table_name") != name {
		t.Fatalf("policy: %s %s", ev.Topic(), ev.Row)
	}
	e.sql(t, "DROP TABLE "+name)
	if ev := next(t, sub); ev.Topic() != events.TopicSchemaChanged || !strings.Contains(string(ev.Row), "DROP TABLE") {
		t.Fatalf("after DROP TABLE: %s %s", ev.Topic(), ev.Row)
	}
	// SelfDB's own tables are never captured as user tables.
	e.sql(t, "INSERT INTO selfdb.sql_history (user_id, query) VALUES (gen_random_uuid(), 'x')")
	none(t, sub, 200*time.Millisecond)
}

// A transaction that took an earlier id but commits after a later one is
// not overtaken: the later change waits for it, then both come in id order.
// One that rolls back lets the later change through once it has ended.
func TestGapWaitsForEarlierTransaction(t *testing.T) {
	e := start(t)
	name := e.table(t, "id int PRIMARY KEY")
	sub, _ := e.bus.Subscribe("test", onTable(name), 16)
	defer sub.Close()
	ctx := context.Background()
	for _, commit := range []bool{true, false} {
		base := map[bool]int{true: 0, false: 10}[commit]
		slow, err := e.DB.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := slow.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s VALUES (%d)", name, base+1)); err != nil {
			t.Fatal(err)
		}
		e.sql(t, fmt.Sprintf("INSERT INTO %s VALUES (%d)", name, base+2))
		none(t, sub, 300*time.Millisecond)
		if commit {
			err = slow.Commit()
		} else {
			err = slow.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
		if commit {
			first := next(t, sub)
			if got := field(t, first.Row, "id"); got != float64(base+1) {
				t.Fatalf("first event id=%v, want %d", got, base+1)
			}
		}
		if got := field(t, next(t, sub).Row, "id"); got != float64(base+2) {
			t.Fatalf("second event id=%v, want %d", got, base+2)
		}
	}
	none(t, sub, 200*time.Millisecond)
}

// A transaction that keeps a gap open past the gap timeout does not hold up
// the others; its change still arrives when it commits.
func TestLongTransactionDoesNotStallOthers(t *testing.T) {
	e := start(t)
	e.reader.SetGapTimeout(300 * time.Millisecond)
	name := e.table(t, "id int PRIMARY KEY")
	sub, _ := e.bus.Subscribe("test", onTable(name), 16)
	defer sub.Close()
	ctx := context.Background()
	slow, err := e.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slow.ExecContext(ctx, "INSERT INTO "+name+" VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	e.sql(t, "INSERT INTO "+name+" VALUES (2)")
	if got := field(t, next(t, sub).Row, "id"); got != float64(2) {
		t.Fatalf("got id %v first, want 2", got)
	}
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := field(t, next(t, sub).Row, "id"); got != float64(1) {
		t.Fatalf("late change id %v, want 1", got)
	}
}

// A 1 MB row is written and delivered in full.
func TestLargeRow(t *testing.T) {
	e := start(t)
	name := e.table(t, "id int PRIMARY KEY, body text")
	sub, _ := e.bus.Subscribe("test", onTable(name), 4)
	defer sub.Close()
	big := strings.Repeat("x", 1<<20)
	e.sql(t, "INSERT INTO "+name+" VALUES (1, ?)", big)
	if got := field(t, next(t, sub).Row, "body"); got != big {
		t.Fatalf("body of %d bytes, want %d", len(fmt.Sprint(got)), len(big))
	}
}

// A subscriber that does not read loses events (counted) and never holds
// up the others.
func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	e := start(t)
	name := e.table(t, "id int PRIMARY KEY")
	stalled, _ := e.bus.Subscribe("stalled", onTable(name), 1)
	defer stalled.Close()
	sub, _ := e.bus.Subscribe("test", onTable(name), 64)
	defer sub.Close()
	e.sql(t, "INSERT INTO "+name+" SELECT generate_series(1, 20)")
	for i := 1; i <= 20; i++ {
		if got := field(t, next(t, sub).Row, "id"); got != float64(i) {
			t.Fatalf("event %d: id %v", i, got)
		}
	}
	if d := stalled.Dropped(); d != 19 {
		t.Errorf("stalled subscriber dropped %d, want 19", d)
	}
}

// Since replays a window of the log in order; a window reaching before the
// pruned horizon is refused; Subscribe's position splits replay and live
// without loss or duplicates.
func TestSinceAndPrune(t *testing.T) {
	e := start(t)
	name := e.table(t, "id int PRIMARY KEY")
	ctx := context.Background()
	e.sql(t, "INSERT INTO "+name+" SELECT generate_series(1, 5)")
	// Wait until the reader has dispatched them.
	probe, _ := e.bus.Subscribe("probe", onTable(name), 8)
	e.sql(t, "INSERT INTO "+name+" VALUES (6)")
	for field(t, next(t, probe).Row, "id") != float64(6) {
	}
	probe.Close()
	sub, pos := e.bus.Subscribe("test", onTable(name), 16)
	defer sub.Close()
	e.sql(t, "INSERT INTO "+name+" VALUES (7)")

	var ids []float64
	collect := func(ev *events.Event) error { ids = append(ids, field(t, ev.Row, "id").(float64)); return nil }
	if err := e.log.Since(ctx, 0, pos, []string{name}, collect); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, field(t, next(t, sub).Row, "id").(float64))
	if fmt.Sprint(ids) != "[1 2 3 4 5 6 7]" {
		t.Fatalf("replay then live: %v (pos %d)", ids, pos)
	}

	var first int64
	if err := e.DB.QueryRowContext(ctx, "SELECT min(id) FROM selfdb.change_log WHERE table_name = ?", name).Scan(&first); err != nil {
		t.Fatal(err)
	}
	var pruned int
	if _, err := e.DB.ExecContext(ctx, "UPDATE selfdb.change_log SET created_at = now() - interval '2 days' WHERE id <= ?", first); err != nil {
		t.Fatal(err)
	}
	err := e.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) (err error) {
		pruned, err = e.log.Prune(ctx, tx, time.Now().Add(-24*time.Hour), 1000)
		return err
	})
	if err != nil || pruned == 0 {
		t.Fatalf("prune: %d rows, %v", pruned, err)
	}
	if err := e.log.Since(ctx, 0, pos, []string{name}, collect); err != events.ErrTooOld {
		t.Fatalf("since before the horizon: %v, want ErrTooOld", err)
	}
	ids = nil
	if err := e.log.Since(ctx, first, pos, []string{name}, collect); err != nil || fmt.Sprint(ids) != "[2 3 4 5 6]" {
		t.Fatalf("since the horizon: %v %v", ids, err)
	}
}

// Postgres restarted under a subscriber: changes committed after recovery
// arrive, none lost or doubled.
func TestPostgresRestart(t *testing.T) {
	pg := testkit.StartPostgres(t)
	e := start(t, testkit.Env("DATABASE_URL", pg.URL, "MIGRATE_ON_START", "true"))
	name := e.table(t, "id int PRIMARY KEY")
	sub, _ := e.bus.Subscribe("test", onTable(name), 64)
	defer sub.Close()
	e.sql(t, "INSERT INTO "+name+" VALUES (1)")
	next(t, sub)
	pg.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for e.bus.Live() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if e.bus.Live() {
		t.Fatal("bus still live 5s after Postgres stopped")
	}
	pg.Start()
	for i := 2; i <= 4; i++ {
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := e.DB.ExecContext(context.Background(), fmt.Sprintf("INSERT INTO %s VALUES (%d)", name, i))
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("insert after restart: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for i := 2; i <= 4; i++ {
		if got := field(t, next(t, sub).Row, "id"); got != float64(i) {
			t.Fatalf("after restart: id %v, want %d", got, i)
		}
	}
	waitLive(t, e.bus)
	none(t, sub, 300*time.Millisecond)
}

// While the reader polls often (changes keep coming), writers skip
// pg_notify, whose database-wide lock would make them commit one at a time;
// a reader gone cold is woken by the next change's notification.
func TestWritersNotifyOnlyColdReaders(t *testing.T) {
	e := start(t)
	name := e.table(t, "id int PRIMARY KEY")
	sub, _ := e.bus.Subscribe("test", onTable(name), 256)
	defer sub.Close()
	ctx := context.Background()
	ln, err := db.Listen(ctx, e.DB, events.Channel)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// Wake the reader and let it go hot.
	e.sql(t, "INSERT INTO "+name+" VALUES (0)")
	next(t, sub)
	count := func(d time.Duration) int {
		n := 0
		for end := time.Now().Add(d); time.Now().Before(end); {
			payload, ok, err := ln.Wait(ctx, 20*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if ok && !strings.HasPrefix(payload, "ack:") {
				n++
			}
		}
		return n
	}
	count(200 * time.Millisecond) // the wake-up's own notification
	for i := 1; i <= 100; i++ {
		e.sql(t, fmt.Sprintf("INSERT INTO %s VALUES (%d)", name, i))
		next(t, sub)
	}
	if n := count(200 * time.Millisecond); n > 5 {
		t.Errorf("%d notifications for 100 commits while the reader was hot", n)
	}
	// Idle past the hot window: the reader is cold, the next change notifies.
	time.Sleep(2500 * time.Millisecond)
	e.sql(t, "INSERT INTO "+name+" VALUES (1000)")
	if n := count(300 * time.Millisecond); n != 1 {
		t.Errorf("%d notifications for a change to a cold reader, want 1", n)
	}
	next(t, sub)
}

// A handler has seen every event up to an id once WaitFor(id) returns: Sync
// after a write means every cache invalidated by handlers has been.
func TestHandlersRunBeforeThePositionMoves(t *testing.T) {
	e := start(t)
	name := e.table(t, "id int PRIMARY KEY")
	var seen atomic.Int64
	e.bus.Handle(onTable(name), func(ev *events.Event) {
		time.Sleep(20 * time.Millisecond) // a slow handler still finishes first
		seen.Add(1)
	})
	for i := range 5 {
		e.sql(t, fmt.Sprintf("INSERT INTO %s VALUES (%d)", name, i))
		e.Sync(t)
		if n := seen.Load(); n != int64(i+1) {
			t.Fatalf("after Sync of insert %d the handler had seen %d events", i+1, n)
		}
	}
}

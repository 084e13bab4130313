package realtime_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/selfdb/selfdb/modules/realtime"
	"github.com/selfdb/selfdb/platform/testkit"
)

// A change made through instance A reaches a subscriber on instance B; a
// user deactivated by an admin on A loses the socket on B within a second.
func TestTwoInstances(t *testing.T) {
	w := start(t, 2)
	a, b := w.apps[0], w.apps[1]
	name := w.table(t, "authenticated")
	onB := connect(t, b, w.alice.Token)
	subscribe(t, onB, name)
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/tables/" + name + "/data", Token: w.bob.Token, Body: map[string]any{"note": "via A"}}).Expect(t, 200)
	if got := row(t, change(t, onB), "data")["note"]; got != "via A" {
		t.Fatalf("B got %v", got)
	}
	start := time.Now()
	a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/users/" + w.alice.ID, Token: w.su.Token, Body: map[string]any{"is_active": false}}).Expect(t, 200)
	code, reason := onB.WaitClosed()
	if took := time.Since(start); code != realtime.ClosePolicy || took > time.Second {
		t.Fatalf("socket closed with %d %q after %s; want %d within 1s", code, reason, took, realtime.ClosePolicy)
	}
}

// Demoting a superuser ends their system-feed subscriptions at once.
func TestDemotionEndsSystemFeeds(t *testing.T) {
	w := start(t, 0)
	boss := newUser(t, w.App, "boss")
	w.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/users/" + boss.ID, Token: w.su.Token, Body: map[string]any{"is_superuser": true}}).Expect(t, 200)
	w.Sync(t)
	ws := connect(t, w.App, boss.Token)
	ws.Send(map[string]any{"type": "subscribe", "subscription_id": "buckets_changes"})
	ws.Expect("subscribed")
	w.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/users/" + boss.ID, Token: w.su.Token, Body: map[string]any{"is_superuser": false}}).Expect(t, 200)
	if m := ws.Expect("error"); m["code"] != "not_enough_privileges" || m["subscription_id"] != "buckets_changes" {
		t.Fatalf("after demotion: %v", m)
	}
	w.sql(t, "INSERT INTO selfdb.buckets (name, owner_id) VALUES ('demoted-sees-nothing', $1)", w.su.ID)
	ws.None(300 * time.Millisecond)
}

// since replays exactly what was missed, in order; one from before the
// retention horizon is refused with an error frame.
func TestResumeWithSince(t *testing.T) {
	w := start(t, 0)
	name := w.table(t, "public")
	ws := connect(t, w.App, testkit.AnonKey)
	subscribe(t, ws, name)
	w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ('1')", name))
	seen := ws.Expect("database_change")["event_id"].(float64)
	ws.Conn.Close()
	ws.WaitClosed()
	for _, n := range []string{"2", "3", "4"} {
		w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ($1)", name), n)
	}
	back := connect(t, w.App, testkit.AnonKey)
	back.Send(map[string]any{"type": "subscribe", "subscription_id": name, "data": map[string]any{"table": name}, "since": int64(seen)})
	back.Expect("subscribed")
	w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ('5')", name))
	var notes []string
	last := seen
	for range 4 {
		m := back.Expect("database_change")
		if id := m["event_id"].(float64); id <= last {
			t.Fatalf("event_id %v after %v", id, last)
		} else {
			last = id
		}
		notes = append(notes, row(t, m["data"].(map[string]any), "data")["note"].(string))
	}
	if strings.Join(notes, ",") != "2,3,4,5" {
		t.Fatalf("resumed %v, want 2,3,4,5", notes)
	}
	back.None(200 * time.Millisecond)

	w.sql(t, "UPDATE selfdb.change_log_state SET pruned_through = $1", int64(seen)+1)
	old := connect(t, w.App, testkit.AnonKey)
	old.Send(map[string]any{"type": "subscribe", "subscription_id": name, "data": map[string]any{"table": name}, "since": int64(seen)})
	old.Expect("subscribed")
	if m := old.Expect("error"); m["code"] != "since_too_old" {
		t.Fatalf("since before the horizon: %v", m)
	}
}

// A client that reads nothing does not delay the others, and is
// disconnected once its queue is full (1013), never waited for.
func TestStalledClient(t *testing.T) {
	w := start(t, 0, "REALTIME_SEND_QUEUE", "32")
	name := w.table(t, "public")
	// A client that subscribes, then never reads again.
	stalled, _, err := websocket.DefaultDialer.Dial(w.WSURL()+realtime.Path+"?apikey="+q(testkit.AnonKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if err := stalled.WriteJSON(map[string]any{"type": "subscribe", "subscription_id": name, "data": map[string]any{"table": name}}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // connected, subscribed
		if _, _, err := stalled.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	fast := connect(t, w.App, testkit.AnonKey)
	subscribe(t, fast, name)
	big := strings.Repeat("z", 256<<10)
	start := time.Now()
	for i := range 100 {
		w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ($1)", name), fmt.Sprint(i)+big)
		if got := row(t, change(t, fast), "data")["note"].(string); !strings.HasPrefix(got, fmt.Sprint(i)+"z") {
			t.Fatalf("change %d: %.10s", i, got)
		}
	}
	t.Logf("100 changes of 256 KiB reached the reading client in %s", time.Since(start).Round(time.Millisecond))
	metrics := w.Get(t, "/metrics", "").Expect(t, 200).Body
	if !strings.Contains(string(metrics), "selfdb_realtime_slow_disconnects_total 1") {
		t.Fatalf("the stalled client was not disconnected as slow:\n%s", grep(string(metrics), "selfdb_realtime"))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// An expired token closes the socket unless the client authenticates again
// with a fresh one in time.
func TestTokenExpiry(t *testing.T) {
	w := start(t, 0)
	short := func(d time.Duration) string {
		claims := jwt.MapClaims{"sub": w.alice.ID, "typ": "access", "exp": time.Now().Add(d).Unix(), "iat": time.Now().Unix()}
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testkit.SecretKey))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ws := connect(t, w.App, short(2*time.Second))
	refreshed := connect(t, w.App, short(2*time.Second))
	refreshed.Send(map[string]any{"type": "authenticate", "token": w.alice.Token})
	refreshed.Expect("connected")
	if code, reason := ws.WaitClosed(); code != realtime.ClosePolicy || !strings.Contains(reason, "expired") {
		t.Fatalf("expired token: close %d %q", code, reason)
	}
	refreshed.Send(map[string]any{"type": "ping"})
	refreshed.Expect("pong")
}

// Postgres restarted while a subscriber is connected: changes committed
// after recovery arrive, none lost or doubled.
func TestPostgresRestart(t *testing.T) {
	pg := testkit.StartPostgres(t)
	w := start(t, 0, "DATABASE_URL", pg.URL, "MIGRATE_ON_START", "true")
	name := w.table(t, "public")
	ws := connect(t, w.App, testkit.AnonKey)
	subscribe(t, ws, name)
	w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ('before')", name))
	change(t, ws)
	pg.Stop()
	pg.Start()
	for i := range 3 {
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := w.DB.DB.Exec(fmt.Sprintf("INSERT INTO %s (note) VALUES ($1)", name), fmt.Sprint(i))
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("insert after restart: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for i := range 3 {
		if got := row(t, change(t, ws), "data")["note"]; got != fmt.Sprint(i) {
			t.Fatalf("after restart got %v, want %d", got, i)
		}
	}
	ws.None(300 * time.Millisecond)
}

package realtime_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/selfdb/selfdb/modules/realtime"
	"github.com/selfdb/selfdb/platform/testkit"
)

// The handshake of api.md §10.1: the authenticate frame, ?token= and
// ?apikey=, the anon key as token, and the refusals.
func TestAuthentication(t *testing.T) {
	w := start(t, 0)
	t.Run("user token in the first frame", func(t *testing.T) {
		ws := w.Dial(t, realtime.Path)
		ws.Send(map[string]any{"type": "authenticate", "token": w.alice.Token})
		if m := ws.Expect("connected"); m["user_id"] != w.alice.ID {
			t.Fatalf("connected %v, want user_id %s", m, w.alice.ID)
		}
	})
	t.Run("anon key as token is anon", func(t *testing.T) {
		ws := w.Dial(t, realtime.Path)
		ws.Send(map[string]any{"type": "authenticate", "token": testkit.AnonKey})
		if m := ws.Expect("connected"); m["user_id"] != nil {
			t.Fatalf("connected %v, want user_id null", m)
		}
	})
	t.Run("token in the URL", func(t *testing.T) {
		ws := w.Dial(t, realtime.Path+"?token="+q(w.bob.Token))
		if m := ws.Expect("connected"); m["user_id"] != w.bob.ID {
			t.Fatalf("connected %v", m)
		}
	})
	t.Run("anon key in the URL", func(t *testing.T) {
		ws := w.Dial(t, realtime.Path+"?apikey="+q(testkit.AnonKey))
		if m := ws.Expect("connected"); m["user_id"] != nil {
			t.Fatalf("connected %v", m)
		}
	})
	for name, tok := range map[string]string{"garbage": "not-a-jwt", "empty": "", "wrong key": "nope"} {
		t.Run("bad token "+name, func(t *testing.T) {
			ws := w.Dial(t, realtime.Path)
			ws.Send(map[string]any{"type": "authenticate", "token": tok})
			if m := ws.Next(); m["error"] != "Invalid authentication" {
				t.Fatalf("frame %v", m)
			}
			if code, _ := ws.WaitClosed(); code != realtime.ClosePolicy {
				t.Fatalf("close code %d, want %d", code, realtime.ClosePolicy)
			}
		})
	}
	t.Run("bad token in the URL", func(t *testing.T) {
		ws := w.Dial(t, realtime.Path+"?token=garbage")
		if m := ws.Next(); m["error"] != "Invalid authentication" {
			t.Fatalf("frame %v", m)
		}
		ws.WaitClosed()
	})
	t.Run("first frame not authenticate", func(t *testing.T) {
		ws := w.Dial(t, realtime.Path)
		ws.Send(map[string]any{"type": "subscribe", "subscription_id": "x"})
		if m := ws.Next(); m["error"] != "Authentication required" {
			t.Fatalf("frame %v", m)
		}
		if code, _ := ws.WaitClosed(); code != realtime.ClosePolicy {
			t.Fatalf("close code %d", code)
		}
	})
	t.Run("first frame not JSON", func(t *testing.T) {
		ws := w.Dial(t, realtime.Path)
		ws.Send("hello")
		if m := ws.Next(); m["error"] != "Authentication required" {
			t.Fatalf("frame %v", m)
		}
		ws.WaitClosed()
	})
	t.Run("plain HTTP", func(t *testing.T) {
		r := w.Do(t, testkit.Req{Method: "GET", Path: realtime.Path, NoKey: true})
		if r.Status != 426 || !strings.Contains(string(r.Body), `"code":"upgrade_required"`) {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

// Bad frames from an authenticated client get an error frame (or, for an
// oversized one, a close with 1009), never a crash; the connection keeps
// working after the error frames.
func TestBadFrames(t *testing.T) {
	w := start(t, 0, "REALTIME_MAX_FRAME_BYTES", "4096")
	ws := connect(t, w.App, w.alice.Token)
	cases := []struct {
		frame any
		code  string
	}{
		{"not json", "invalid_frame"},
		{`[1,2,3]`, "invalid_frame"},
		{map[string]any{"type": "dance"}, "unknown_type"},
		{map[string]any{"type": "subscribe"}, "invalid_subscription"},
		{map[string]any{"type": "subscribe", "subscription_id": "x", "data": map[string]any{"table": "no such; table"}}, "invalid_identifier"},
		{map[string]any{"type": "subscribe", "subscription_id": "x", "data": map[string]any{"table": "missing_table"}}, "table_not_found"},
		{map[string]any{"type": "subscribe", "subscription_id": "x", "data": map[string]any{"table": "t"}, "since": "soon"}, "invalid_since"},
		{map[string]any{"type": "unsubscribe"}, "invalid_subscription"},
		{map[string]any{"type": "subscribe", "subscription_id": "users_changes"}, "not_enough_privileges"},
	}
	for _, c := range cases {
		ws.Send(c.frame)
		m := ws.Expect("error")
		if m["code"] != c.code || m["error"] == "" {
			t.Errorf("%v: %v, want code %s", c.frame, m, c.code)
		}
	}
	ws.Send(map[string]any{"type": "ping"})
	ws.Expect("pong")
	// The server may close before the client has written it all.
	_ = ws.Conn.WriteMessage(1, []byte(strings.Repeat("x", 1<<20)))
	if code, _ := ws.WaitClosed(); code != realtime.CloseTooBig {
		t.Fatalf("1 MB frame: close code %d, want %d", code, realtime.CloseTooBig)
	}
	// The server lives on.
	connect(t, w.App, w.bob.Token).Send(map[string]any{"type": "ping"})
}

// Inserts, updates and deletes through the REST API, the SQL console and
// direct SQL each give one frame per subscription, in commit order, in both
// dialects, with old_data on update and delete.
func TestChangesFromEveryPath(t *testing.T) {
	w := start(t, 0)
	name := w.table(t, "public")
	plain := connect(t, w.App, w.su.Token)
	subscribe(t, plain, name)
	js := connect(t, w.App, testkit.AnonKey)
	js.Send(map[string]any{"type": "subscribe", "channel": name, "event": "INSERT"})
	if m := js.Expect("subscribed"); m["channel"] != name {
		t.Fatalf("js subscribed %v", m)
	}
	// A second SDK subscription of the same channel (another event) adds no
	// duplicate frames.
	js.Send(map[string]any{"type": "subscribe", "channel": name, "event": "DELETE"})
	js.Expect("subscribed")

	base := "/api/v1/tables/" + name + "/data"
	id := w.Do(t, testkit.Req{Method: "POST", Path: base, Token: w.alice.Token, Body: map[string]any{"note": "rest"}}).Expect(t, 200).Map(t)["id"]
	w.Do(t, testkit.Req{Method: "PUT", Path: fmt.Sprintf("%s/%v?id_column=id", base, id), Token: w.alice.Token, Body: map[string]any{"note": "rest2"}}).Expect(t, 200)
	w.Do(t, testkit.Req{Method: "DELETE", Path: fmt.Sprintf("%s/%v?id_column=id", base, id), Token: w.alice.Token}).Expect(t, 200)
	w.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/sql/query", Token: w.su.Token, Body: map[string]any{
		"query": fmt.Sprintf("INSERT INTO %s (note) VALUES ('console'); UPDATE %s SET note = 'console2' WHERE note = 'console'", name, name)}}).Expect(t, 200)
	w.sql(t, fmt.Sprintf("DELETE FROM %s WHERE note = 'console2'", name))

	want := []struct{ op, note, old string }{
		{"INSERT", "rest", ""}, {"UPDATE", "rest2", "rest"}, {"DELETE", "", "rest2"},
		{"INSERT", "console", ""}, {"UPDATE", "console2", "console"}, {"DELETE", "", "console2"},
	}
	var lastID float64
	for i, x := range want {
		m := plain.Expect("database_change")
		d := m["data"].(map[string]any)
		if m["subscription_id"] != name || d["operation"] != x.op || d["table"] != name {
			t.Fatalf("change %d: %v", i, m)
		}
		if eid := m["event_id"].(float64); eid <= lastID {
			t.Fatalf("change %d: event_id %v after %v", i, eid, lastID)
		} else {
			lastID = eid
		}
		if x.note != "" && row(t, d, "data")["note"] != x.note {
			t.Fatalf("change %d data %v", i, d["data"])
		}
		if x.note == "" && d["data"] != nil {
			t.Fatalf("change %d: delete with data %v", i, d["data"])
		}
		if x.old != "" && row(t, d, "old_data")["note"] != x.old {
			t.Fatalf("change %d old_data %v", i, d["old_data"])
		}
		if x.old == "" && d["old_data"] != nil {
			t.Fatalf("change %d: insert with old_data %v", i, d["old_data"])
		}
		j := js.Expect("database_change")
		p := j["payload"].(map[string]any)
		if j["channel"] != name || j["event"] != x.op || p["eventType"] != x.op || p["table"] != name {
			t.Fatalf("js change %d: %v", i, j)
		}
	}
	plain.None(200 * time.Millisecond)
	js.None(50 * time.Millisecond)

	// Unsubscribing one of the two SDK subscriptions keeps the channel;
	// the second ends it.
	js.Send(map[string]any{"type": "unsubscribe", "channel": name, "event": "INSERT"})
	js.Expect("unsubscribed")
	w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ('still')", name))
	js.Expect("database_change")
	js.Send(map[string]any{"type": "unsubscribe", "channel": name, "event": "DELETE"})
	js.Expect("unsubscribed")
	w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ('gone')", name))
	plain.Expect("database_change")
	plain.Expect("database_change")
	js.None(300 * time.Millisecond)
}

// A 1 MB row is written and delivered in full.
func TestLargeRow(t *testing.T) {
	w := start(t, 0)
	name := w.table(t, "public")
	ws := connect(t, w.App, testkit.AnonKey)
	subscribe(t, ws, name)
	big := strings.Repeat("y", 1<<20)
	w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ($1)", name), big)
	if got := row(t, change(t, ws), "data")["note"]; got != big {
		t.Fatalf("note of %d bytes, want %d", len(fmt.Sprint(got)), len(big))
	}
}

// tables_changes follows every table the caller may read, each change
// checked against its table's policy.
func TestAllTables(t *testing.T) {
	w := start(t, 0)
	open, closed := w.table(t, "public"), w.table(t, "superuser")
	anon := connect(t, w.App, testkit.AnonKey)
	anon.Send(map[string]any{"type": "subscribe", "subscription_id": "tables_changes"})
	anon.Expect("subscribed")
	su := connect(t, w.App, w.su.Token)
	su.Send(map[string]any{"type": "subscribe", "subscription_id": "tables_changes"})
	su.Expect("subscribed")
	w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ('hidden')", closed))
	w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ('seen')", open))
	if d := change(t, anon); d["table"] != open {
		t.Fatalf("anon got %v", d)
	}
	if d := change(t, su); d["table"] != closed {
		t.Fatalf("superuser got %v first", d)
	}
	if d := change(t, su); d["table"] != open {
		t.Fatalf("superuser got %v second", d)
	}
	anon.None(200 * time.Millisecond)
}

// The original admin UI's live feeds of SelfDB's own tables: superusers only,
// sanitized (no password hash).
func TestSystemFeeds(t *testing.T) {
	w := start(t, 0)
	su := connect(t, w.App, w.su.Token)
	su.Send(map[string]any{"type": "subscribe", "subscription_id": "users_changes"})
	su.Expect("subscribed")
	for _, tok := range []string{w.alice.Token, testkit.AnonKey} {
		ws := connect(t, w.App, tok)
		ws.Send(map[string]any{"type": "subscribe", "subscription_id": "users_changes"})
		if m := ws.Expect("error"); m["code"] != "not_enough_privileges" {
			t.Fatalf("non-superuser: %v", m)
		}
	}
	carol := newUser(t, w.App, "carol")
	m := su.Expect("database_change")
	raw, _ := json.Marshal(m)
	d := m["data"].(map[string]any)
	if d["table"] != "users" || d["operation"] != "INSERT" || row(t, d, "data")["id"] != carol.ID {
		t.Fatalf("users_changes frame %s", raw)
	}
	if strings.Contains(string(raw), "hashed_password") || strings.Contains(string(raw), "$2") {
		t.Fatalf("users_changes leaks the password hash: %s", raw)
	}
	// A feed of a table with nothing to strip carries its rows too.
	su.Send(map[string]any{"type": "subscribe", "subscription_id": "buckets_changes"})
	su.Expect("subscribed")
	w.sql(t, "INSERT INTO selfdb.buckets (name, owner_id) VALUES ('feed-bucket', $1)", w.su.ID)
	if d := change(t, su); d["table"] != "buckets" || row(t, d, "data")["name"] != "feed-bucket" {
		t.Fatalf("buckets_changes frame %v", d)
	}
}

// Shutdown closes sockets with 1001 before the server stops.
func TestShutdownClosesWith1001(t *testing.T) {
	w := start(t, 0)
	ws := connect(t, w.App, w.alice.Token)
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	if code, _ := ws.WaitClosed(); code != realtime.CloseGoingAway {
		t.Fatalf("close code %d, want %d", code, realtime.CloseGoingAway)
	}
}

// "<table>_changes" as the subscription id names the table (api.md §10.1
// item 3); unsubscribe by id stops the frames.
func TestTableChangesID(t *testing.T) {
	w := start(t, 0)
	name := w.table(t, "authenticated")
	ws := connect(t, w.App, w.bob.Token)
	ws.Send(map[string]any{"type": "subscribe", "subscription_id": name + "_changes"})
	if m := ws.Expect("subscribed"); m["subscription_id"] != name+"_changes" {
		t.Fatalf("subscribed %v", m)
	}
	w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ('x')", name))
	m := ws.Expect("database_change")
	if m["subscription_id"] != name+"_changes" || m["data"].(map[string]any)["table"] != name {
		t.Fatalf("change %v", m)
	}
	ws.Send(map[string]any{"type": "unsubscribe", "subscription_id": name + "_changes"})
	if m := ws.Expect("unsubscribed"); m["subscription_id"] != name+"_changes" {
		t.Fatalf("unsubscribed %v", m)
	}
	w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ('y')", name))
	ws.None(300 * time.Millisecond)
	// Anon may not follow an authenticated table.
	anon := connect(t, w.App, testkit.AnonKey)
	anon.Send(map[string]any{"type": "subscribe", "subscription_id": name + "_changes"})
	if m := anon.Expect("error"); m["code"] != "not_authenticated" {
		t.Fatalf("anon: %v", m)
	}
}

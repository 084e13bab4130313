package realtime_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/selfdb/selfdb/platform/testkit"
)

// The identity matrix of api.md §10.3: for each read level, who may
// subscribe and which rows each subscriber receives.
func TestReadPolicyMatrix(t *testing.T) {
	w := start(t, 0)
	type who struct {
		name  string
		token string
		id    string
	}
	people := []who{{"anon", testkit.AnonKey, ""}, {"alice", w.alice.Token, w.alice.ID}, {"bob", w.bob.Token, w.bob.ID}, {"superuser", w.su.Token, w.su.ID}}
	// Rows: one owned by alice, one by bob, one by nobody.
	for _, c := range []struct {
		read string
		// may subscribe, and the notes each receives (in order).
		sees map[string][]string
	}{
		{"public", map[string][]string{"anon": {"a", "b", "n"}, "alice": {"a", "b", "n"}, "bob": {"a", "b", "n"}, "superuser": {"a", "b", "n"}}},
		{"authenticated", map[string][]string{"alice": {"a", "b", "n"}, "bob": {"a", "b", "n"}, "superuser": {"a", "b", "n"}}},
		{"owner", map[string][]string{"alice": {"a"}, "bob": {"b"}, "superuser": {"a", "b", "n"}}},
		{"superuser", map[string][]string{"superuser": {"a", "b", "n"}}},
	} {
		t.Run(c.read, func(t *testing.T) {
			name := w.table(t, c.read)
			conns := map[string]*testkit.WS{}
			for _, p := range people {
				ws := connect(t, w.App, p.token)
				ws.Send(map[string]any{"type": "subscribe", "subscription_id": name, "data": map[string]any{"table": name}})
				m := ws.Next()
				_, may := c.sees[p.name]
				switch {
				case may && m["type"] == "subscribed":
					conns[p.name] = ws
				case !may && m["type"] == "error":
					want := "not_enough_privileges"
					if p.name == "anon" {
						want = "not_authenticated"
					}
					if m["code"] != want {
						t.Errorf("%s refused with %v, want %s", p.name, m, want)
					}
				default:
					t.Fatalf("%s subscribing to a %s table: %v", p.name, c.read, m)
				}
			}
			for _, r := range []struct{ note, owner string }{{"a", w.alice.ID}, {"b", w.bob.ID}, {"n", ""}} {
				if r.owner == "" {
					w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ($1)", name), r.note)
				} else {
					w.sql(t, fmt.Sprintf("INSERT INTO %s (note, owner_id) VALUES ($1, $2)", name), r.note, r.owner)
				}
			}
			for person, notes := range c.sees {
				ws := conns[person]
				for _, n := range notes {
					if got := row(t, change(t, ws), "data")["note"]; got != n {
						t.Fatalf("%s got %v, want %s", person, got, n)
					}
				}
			}
			for _, ws := range conns {
				ws.None(100 * time.Millisecond)
			}
		})
	}
}

// A subscription's visibility follows the table's current policy: a read
// policy tightened while subscribed stops the rows at once.
func TestPolicyChangeAppliesToSubscribers(t *testing.T) {
	w := start(t, 0)
	name := w.table(t, "public")
	anon := connect(t, w.App, testkit.AnonKey)
	subscribe(t, anon, name)
	w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ('before')", name))
	change(t, anon)
	w.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/tables/" + name, Token: w.su.Token, Body: map[string]any{"access": map[string]any{"read": "superuser"}}}).Expect(t, 200)
	w.Sync(t)
	w.sql(t, fmt.Sprintf("INSERT INTO %s (note) VALUES ('after')", name))
	anon.None(300 * time.Millisecond)
}

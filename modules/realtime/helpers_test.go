package realtime_test

import (
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/realtime"
	"github.com/selfdb/selfdb/modules/sqlconsole"
	"github.com/selfdb/selfdb/modules/tables"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// session is a signed-in user.
type session struct{ ID, Token string }

// world is an app (or several instances of one) with a superuser and two users.
type world struct {
	*testkit.App
	apps           []*testkit.App
	su, alice, bob session
}

var seq atomic.Int64

var modules = testkit.With(auth.Module, users.Module, tables.Module, sqlconsole.Module, realtime.Module)

func login(t *testing.T, a *testkit.App, email, password string) session {
	t.Helper()
	m := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": email, "password": password}}).Expect(t, 200).Map(t)
	return session{ID: m["user_id"].(string), Token: m["access_token"].(string)}
}

func newUser(t *testing.T, a *testkit.App, name string) session {
	t.Helper()
	email := fmt.Sprintf("%s%d-%d@example.com", name, seq.Add(1), time.Now().UnixNano())
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{"email": email, "password": "password123"}}).Expect(t, 200)
	return login(t, a, email, "password123")
}

// start starts n instances (1 when n is 0) with env over the test configuration.
func start(t *testing.T, n int, env ...string) *world {
	t.Helper()
	if n == 0 {
		n = 1
	}
	apps := testkit.StartN(t, n, modules, testkit.Env(env...))
	a := apps[0]
	return &world{App: a, apps: apps, su: login(t, a, "admin@example.com", "adminpassword"),
		alice: newUser(t, a, "alice"), bob: newUser(t, a, "bob")}
}

// table creates a table through the API with the given read level and an
// owner column, returning its unique name.
func (w *world) table(t *testing.T, read string) string {
	t.Helper()
	name := fmt.Sprintf("rt_%d_%d", seq.Add(1), time.Now().UnixNano()%1e6)
	w.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/tables", Token: w.su.Token, Body: map[string]any{
		"name": name, "owner_column": "owner_id",
		"access": map[string]any{"read": read, "insert": "public", "update": "public", "delete": "public"},
		"columns": []map[string]any{
			{"name": "id", "type": "serial", "primary_key": true},
			{"name": "note", "type": "text"},
			{"name": "owner_id", "type": "uuid"},
		},
	}}).Expect(t, 201)
	return name
}

func (w *world) sql(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := w.DB.DB.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// connect dials the app's WebSocket and authenticates with token (a JWT,
// the anon key, or "" to stay unauthenticated).
func connect(t *testing.T, a *testkit.App, token string) *testkit.WS {
	t.Helper()
	ws := a.Dial(t, realtime.Path)
	if token != "" {
		ws.Send(map[string]any{"type": "authenticate", "token": token})
		ws.Expect("connected")
	}
	return ws
}

// subscribe subscribes to table with subscription id = table and waits for
// the confirmation.
func subscribe(t *testing.T, ws *testkit.WS, table string) {
	t.Helper()
	ws.Send(map[string]any{"type": "subscribe", "subscription_id": table, "data": map[string]any{"table": table}})
	if m := ws.Next(); m["type"] != "subscribed" {
		t.Fatalf("subscribe %s: %v", table, m)
	}
}

// change waits for the next database_change frame and returns its data.
func change(t *testing.T, ws *testkit.WS) map[string]any {
	t.Helper()
	m := ws.Expect("database_change")
	return m["data"].(map[string]any)
}

func row(t *testing.T, d map[string]any, key string) map[string]any {
	t.Helper()
	r, ok := d[key].(map[string]any)
	if !ok {
		t.Fatalf("%s is %v in %v", key, d[key], d)
	}
	return r
}

func q(s string) string { return url.QueryEscape(s) }

package tables_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/tables"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// session is a logged-in user.
type session struct{ ID, Token string }

// world is a started app with a superuser and two users.
type world struct {
	*testkit.App
	su, alice, bob session
}

var userSeq atomic.Int64

func login(t *testing.T, a *testkit.App, email, password string) session {
	t.Helper()
	m := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": email, "password": password}}).Expect(t, 200).Map(t)
	return session{ID: m["user_id"].(string), Token: m["access_token"].(string)}
}

func newUser(t *testing.T, a *testkit.App, name string) session {
	t.Helper()
	email := fmt.Sprintf("%s%d-%s@example.com", name, userSeq.Add(1), strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")))
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{"email": email, "password": "password123"}}).Expect(t, 200)
	return login(t, a, email, "password123")
}

// start starts the app, with env over the test configuration.
func start(t *testing.T, env ...string) *world {
	t.Helper()
	a := testkit.Start(t, testkit.With(auth.Module, users.Module, tables.Module), testkit.Env(env...))
	// Tests of this package share its database and run one at a time: each
	// starts from an empty public schema.
	if _, err := a.DB.DB.Exec(`DO $$ DECLARE r record; BEGIN
		FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
			EXECUTE format('DROP TABLE IF EXISTS public.%I CASCADE', r.tablename);
		END LOOP; END $$; DELETE FROM selfdb.table_policies`); err != nil {
		t.Fatal(err)
	}
	return &world{App: a, su: login(t, a, "admin@example.com", "adminpassword"), alice: newUser(t, a, "alice"), bob: newUser(t, a, "bob")}
}

// sql runs statements directly (setup and checks, outside the API).
func (w *world) sql(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := w.DB.DB.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// count returns a single integer.
func (w *world) count(t *testing.T, q string) int {
	t.Helper()
	var n int
	if err := w.DB.DB.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (w *world) do(t *testing.T, method, path, token string, body any) *testkit.Response {
	t.Helper()
	return w.Do(t, testkit.Req{Method: method, Path: path, Token: token, Body: body})
}

// create makes a table through the API as superuser.
func (w *world) create(t *testing.T, body map[string]any) {
	t.Helper()
	w.do(t, "POST", "/api/v1/tables", w.su.Token, body).Expect(t, 201)
}

func q(s string) string { return url.QueryEscape(s) }

package sqlconsole_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/sqlconsole"
	"github.com/selfdb/selfdb/modules/tables"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type session struct{ ID, Token string }

type world struct {
	*testkit.App
	su, user session
}

var seq atomic.Int64

func login(t *testing.T, a *testkit.App, email, password string) session {
	t.Helper()
	m := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": email, "password": password}}).Expect(t, 200).Map(t)
	return session{ID: m["user_id"].(string), Token: m["access_token"].(string)}
}

func newUser(t *testing.T, a *testkit.App, superuser bool) session {
	t.Helper()
	email := fmt.Sprintf("u%d-%s@example.com", seq.Add(1), uuid.NewString()[:8])
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{"email": email, "password": "password123"}}).Expect(t, 200)
	s := login(t, a, email, "password123")
	if superuser {
		if _, err := a.DB.DB.Exec(`UPDATE selfdb.users SET is_superuser = true WHERE id = $1`, s.ID); err != nil {
			t.Fatal(err)
		}
		a.Cache.Invalidate(auth.UserCacheKey(a.Cache, uuid.MustParse(s.ID)))
	}
	return s
}

func start(t *testing.T, env ...string) *world {
	t.Helper()
	a := testkit.Start(t, testkit.With(auth.Module, users.Module, tables.Module, sqlconsole.Module), testkit.Env(env...))
	return &world{App: a, su: login(t, a, "admin@example.com", "adminpassword"), user: newUser(t, a, false)}
}

// run posts to /sql/query as the superuser.
func (w *world) run(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	return w.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/sql/query", Token: w.su.Token, Body: body}).Expect(t, 200).Map(t)
}

func (w *world) count(t *testing.T, q string) int {
	t.Helper()
	var n int
	if err := w.DB.DB.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

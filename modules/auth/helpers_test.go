package auth_test

import (
	"testing"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const adminEmail, adminPassword = "admin@example.com", "adminpassword"

// start runs auth and users (users gives Identity a route to be observed through).
func start(t *testing.T, env ...string) *testkit.App {
	t.Helper()
	return testkit.Start(t, testkit.With(auth.Module, users.Module), testkit.Env(env...))
}

func register(t *testing.T, a *testkit.App, email, password string) map[string]any {
	t.Helper()
	r := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{"email": email, "password": password}})
	r.Expect(t, 200)
	return r.Map(t)
}

// session is a logged-in user.
type session struct {
	ID, Access, Refresh string
}

func login(t *testing.T, a *testkit.App, email, password string) session {
	t.Helper()
	m := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": email, "password": password}}).Expect(t, 200).Map(t)
	return session{ID: m["user_id"].(string), Access: m["access_token"].(string), Refresh: m["refresh_token"].(string)}
}

func newUser(t *testing.T, a *testkit.App, email string) session {
	t.Helper()
	register(t, a, email, "password123")
	return login(t, a, email, "password123")
}

func refresh(t *testing.T, a *testkit.App, token string) *testkit.Response {
	t.Helper()
	return a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": token}})
}

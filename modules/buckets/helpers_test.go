package buckets_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/buckets"
	"github.com/selfdb/selfdb/modules/files"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func start(t *testing.T, env ...string) *testkit.App {
	t.Helper()
	return testkit.Start(t, testkit.With(auth.Module, users.Module, buckets.Module, files.Module), testkit.Env(env...))
}

type session struct{ ID, Token string }

func login(t *testing.T, a *testkit.App, email, password string) session {
	t.Helper()
	m := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": email, "password": password}}).Expect(t, 200).Map(t)
	tok := m["access_token"].(string)
	me := a.Get(t, "/api/v1/users/me", tok).Expect(t, 200).Map(t)
	return session{ID: me["id"].(string), Token: tok}
}

// newUser registers a fresh user; the email gets a random suffix so reruns
// (-count) against the package database don't collide.
func newUser(t *testing.T, a *testkit.App, email string) session {
	t.Helper()
	email = strings.Replace(email, "@", "+"+uuid.NewString()[:8]+"@", 1)
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{"email": email, "password": "password123"}}).Expect(t, 200)
	return login(t, a, email, "password123")
}

func admin(t *testing.T, a *testkit.App) session {
	return login(t, a, "admin@example.com", "adminpassword")
}

func createBucket(t *testing.T, a *testkit.App, token, name string, public bool) map[string]any {
	t.Helper()
	return a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/buckets", Token: token,
		Body: map[string]any{"name": name, "is_public": public}}).Expect(t, 201).Map(t)
}

// clearBuckets empties the package database's buckets (and, by cascade,
// files) so that listings see only what the test creates.
func clearBuckets(t *testing.T, a *testkit.App) {
	t.Helper()
	if _, err := a.DB.ExecContext(context.Background(), "DELETE FROM selfdb.buckets"); err != nil {
		t.Fatal(err)
	}
}

package functions_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/functions"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// env is a started app with the module's parts.
type env struct {
	*testkit.App
	svc   *functions.Service
	rt    *functions.Runtime
	sched *functions.Scheduler
}

// denoPath is the Deno the tests run: DENO_PATH, else the copy `make test`
// installs under bin/tools/deno.
func denoPath(t testing.TB) string {
	if p := os.Getenv("DENO_PATH"); p != "" {
		return p
	}
	dir, _ := os.Getwd()
	for range 4 {
		p := filepath.Join(dir, "bin/tools/deno/node_modules/deno/deno")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		dir = filepath.Dir(dir)
	}
	t.Fatal("no Deno: run `make test` (it installs one) or set DENO_PATH")
	return ""
}

func options(t testing.TB, e *env, kv ...string) []testkit.Option {
	return []testkit.Option{
		testkit.With(auth.Module, users.Module, functions.Module, fx.Populate(&e.svc, &e.rt, &e.sched)),
		testkit.Env(append([]string{"DENO_PATH", denoPath(t)}, kv...)...),
	}
}

// start runs an app with a ready runtime.
func start(t testing.TB, kv ...string) *env {
	t.Helper()
	e := &env{}
	e.App = testkit.Start(t, options(t, e, kv...)...)
	waitRuntime(t, e.rt)
	return e
}

// startTwo runs two instances as a deployment does: one database, one
// memcached with one key prefix.
func startTwo(t testing.TB, kv ...string) (*env, *env) {
	t.Helper()
	a := start(t, kv...)
	return a, start(t, append([]string{"CACHE_PREFIX", a.Config.CachePrefix}, kv...)...)
}

func waitRuntime(t testing.TB, rt *functions.Runtime) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !rt.Available() {
		if time.Now().After(deadline) {
			t.Fatal("the functions runtime did not start within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type session struct{ ID, Token string }

func login(t testing.TB, a *testkit.App, email, password string) session {
	t.Helper()
	m := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": email, "password": password}}).Expect(t, 200).Map(t)
	return session{ID: m["user_id"].(string), Token: m["access_token"].(string)}
}

func newUser(t testing.TB, a *testkit.App, email string) session {
	t.Helper()
	email = strings.Replace(email, "@", "+"+uuid.NewString()[:8]+"@", 1)
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{"email": email, "password": "password123"}}).Expect(t, 200)
	return login(t, a, email, "password123")
}

func admin(t testing.TB, a *testkit.App) session {
	return login(t, a, "admin@example.com", "adminpassword")
}

// fname is a function name no other test uses.
func fname(prefix string) string { return prefix + "-" + uuid.NewString()[:8] }

// create saves a function as the admin and returns it.
func create(t testing.TB, a *testkit.App, token string, body map[string]any) map[string]any {
	t.Helper()
	return a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/functions", Token: token, Body: body}).Expect(t, 201).Map(t)
}

// runs waits until the function has at least n recorded runs and returns them, newest first.
func runs(t testing.TB, a *testkit.App, token, id string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var out []map[string]any
		a.Get(t, "/api/v1/functions/"+id+"/logs?limit=500", token).Expect(t, 200).JSON(t, &out)
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs recorded within 20s, want %d: %v", len(out), n, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sql(t testing.TB, a *testkit.App, q string, args ...any) {
	t.Helper()
	if _, err := a.DB.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

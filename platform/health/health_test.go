package health_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// cachedRoutes is a test-only route reading Postgres through the cache, the
// way modules do; loads counts the reads that reached Postgres.
type cachedRoutes struct {
	db    *bun.DB
	cache *cache.Cache
	loads *atomic.Int32
}

func (r cachedRoutes) Register(router fiber.Router) {
	router.Get("/api/v1/probe/cached", func(c *fiber.Ctx) error {
		v, err := cache.GetOrLoad(c.UserContext(), r.cache, r.cache.Key("probe", "answer"), 0, func(ctx context.Context) (int, error) {
			r.loads.Add(1)
			var n int
			err := r.db.QueryRowContext(ctx, "SELECT 42").Scan(&n)
			return n, db.Err(err)
		})
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"value": v})
	})
}

func withCachedRoute(loads *atomic.Int32) testkit.Option {
	return testkit.With(fx.Provide(httpserver.AsRoutes(func(db *bun.DB, c *cache.Cache) cachedRoutes {
		return cachedRoutes{db: db, cache: c, loads: loads}
	})))
}

// poll calls f every 50ms until it returns true or within has passed, and
// returns how long it took.
func poll(t *testing.T, within time.Duration, what string, f func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !f() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

func readyz(t *testing.T, app *testkit.App) (int, map[string]any) {
	t.Helper()
	r := app.Do(t, testkit.Req{Method: "GET", Path: "/readyz", NoKey: true})
	return r.Status, r.Map(t)
}

// Memcached stopped while serving: requests keep succeeding from Postgres,
// /readyz stays 200 and reports the cache down; memcached back: the cache
// is used again without a restart.
func TestMemcachedOutageWhileServing(t *testing.T) {
	t.Parallel()
	mc := testkit.StartMemcached(t)
	var loads atomic.Int32
	app := testkit.Start(t, testkit.Env("MEMCACHED_ADDR", mc.Addr), withCachedRoute(&loads))
	get := func() {
		t.Helper()
		app.Get(t, "/api/v1/probe/cached", "").Expect(t, 200)
		if m := app.Get(t, "/api/v1/probe/cached", "").Expect(t, 200).Map(t); m["value"] != float64(42) {
			t.Fatalf("body %v", m)
		}
	}
	get()
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads with memcached up, want 1", n)
	}
	if status, m := readyz(t, app); status != 200 || m["cache"] != "up" {
		t.Fatalf("readyz %d %v", status, m)
	}

	mc.Stop()
	took := poll(t, 3*time.Second, "readyz reports the cache down", func() bool {
		get()
		status, m := readyz(t, app)
		if status != 200 {
			t.Fatalf("readyz %d with memcached down: %v", status, m)
		}
		return m["cache"] == "down"
	})
	t.Logf("readyz reported the cache down %s after memcached stopped", took.Round(time.Millisecond))
	before := loads.Load()
	for range 20 {
		get()
	}
	if loads.Load() != before+40 {
		t.Fatalf("with memcached down every request should read Postgres: %d loads for 40 requests", loads.Load()-before)
	}
	if m := app.Get(t, "/metrics", "").Expect(t, 200); !strings.Contains(string(m.Body), "selfdb_cache_up 0") {
		t.Error("/metrics doesn't show selfdb_cache_up 0")
	}

	mc.Start()
	took = poll(t, 20*time.Second, "readyz reports the cache up", func() bool {
		status, m := readyz(t, app)
		if status != 200 {
			t.Fatalf("readyz %d: %v", status, m)
		}
		return m["cache"] == "up"
	})
	t.Logf("readyz reported the cache up %s after memcached restarted", took.Round(time.Millisecond))
	get() // fills the (empty, restarted) memcached
	before = loads.Load()
	for range 10 {
		get()
	}
	if loads.Load() != before {
		t.Fatalf("memcached not used after recovery: %d loads", loads.Load()-before)
	}
	if m := app.Get(t, "/metrics", "").Expect(t, 200); !strings.Contains(string(m.Body), "selfdb_cache_up 1") {
		t.Error("/metrics doesn't show selfdb_cache_up 1")
	}
}

// memcached down when the server starts: it starts and is ready anyway, and
// takes memcached into use when it appears.
func TestMemcachedDownAtStart(t *testing.T) {
	t.Parallel()
	mc := testkit.StartMemcached(t)
	mc.Stop()
	var loads atomic.Int32
	start := time.Now()
	app := testkit.Start(t, testkit.Env("MEMCACHED_ADDR", mc.Addr), withCachedRoute(&loads))
	if status, m := readyz(t, app); status != 200 || m["cache"] != "down" {
		t.Fatalf("readyz %d %v with memcached down at start", status, m)
	}
	t.Logf("start to /readyz 200 with memcached down: %s", time.Since(start).Round(time.Millisecond))
	app.Get(t, "/api/v1/probe/cached", "").Expect(t, 200)

	mc.Start()
	poll(t, 20*time.Second, "readyz reports the cache up", func() bool {
		_, m := readyz(t, app)
		return m["cache"] == "up"
	})
	app.Get(t, "/api/v1/probe/cached", "").Expect(t, 200)
	before := loads.Load()
	app.Get(t, "/api/v1/probe/cached", "").Expect(t, 200)
	if loads.Load() != before {
		t.Fatal("memcached not used once it appeared")
	}
}

// /readyz is 503 while migrations are pending and 200 once they are
// applied, without a restart.
func TestReadyzWaitsForMigrations(t *testing.T) {
	t.Parallel()
	dbURL := testkit.ScratchDatabase(t)
	app := testkit.Start(t, testkit.Env("DATABASE_URL", dbURL, "MIGRATE_ON_START", "false"))
	if status, m := readyz(t, app); status != 503 || m["migrations"] != "pending" || m["database"] != "ok" {
		t.Fatalf("readyz %d %v on an unmigrated database", status, m)
	}
	if _, err := db.Migrate(context.Background(), app.DB); err != nil {
		t.Fatal(err)
	}
	if status, m := readyz(t, app); status != 200 || m["migrations"] != "ok" {
		t.Fatalf("readyz %d %v after migrating", status, m)
	}
}

// driverText is what must never reach a client: driver, network and server
// internals.
var driverText = []string{"dial", "refused", "EOF", "pgdriver", "127.0.0.1", "tcp", "SQLSTATE", "terminating", "shutdown", "connection reset"}

// Postgres stopped: /api/v1/health/db answers 503 within 2 s with the
// contract body, /readyz 503; Postgres back: both recover by themselves.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	pg := testkit.StartPostgres(t)
	var loads atomic.Int32
	app := testkit.Start(t, testkit.Env("DATABASE_URL", pg.URL, "MIGRATE_ON_START", "true"), withCachedRoute(&loads))
	app.Get(t, "/api/v1/health/db", "").Expect(t, 200)
	if status, m := readyz(t, app); status != 200 || m["database"] != "ok" || m["migrations"] != "ok" || m["events"] != "live" {
		t.Fatalf("readyz %d %v", status, m)
	}

	pg.Stop()
	var slowest time.Duration
	for i := range 5 {
		start := time.Now()
		r := app.Get(t, "/api/v1/health/db", "")
		took := time.Since(start)
		slowest = max(slowest, took)
		if r.Status != 503 {
			t.Fatalf("request %d: status %d with Postgres stopped: %s", i, r.Status, r.Body)
		}
		if took > 2*time.Second {
			t.Fatalf("request %d: 503 took %s, want < 2s", i, took)
		}
		if i == 0 {
			t.Logf("first /api/v1/health/db after the stop: 503 in %s", took.Round(time.Millisecond))
		}
		m := r.Map(t)
		if m["code"] != "database_unavailable" || !strings.HasPrefix(m["detail"].(string), "Database connection error: ") {
			t.Fatalf("body %s", r.Body)
		}
		for _, s := range driverText {
			if strings.Contains(strings.ToLower(string(r.Body)), strings.ToLower(s)) {
				t.Fatalf("503 body leaks %q: %s", s, r.Body)
			}
		}
		if r.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	}
	t.Logf("slowest of 5 /api/v1/health/db 503s: %s", slowest.Round(time.Millisecond))
	start := time.Now()
	status, m := readyz(t, app)
	if status != 503 || m["database"] != "unreachable" || m["status"] != "not_ready" {
		t.Fatalf("readyz %d %v with Postgres stopped", status, m)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("readyz took %s with Postgres stopped", d)
	}
	poll(t, 5*time.Second, "readyz reports the change-log reader down", func() bool {
		_, m := readyz(t, app)
		return m["events"] == "down"
	})
	// A route reading Postgres answers 503, not 500, with no driver text.
	r := app.Get(t, "/api/v1/probe/cached", "")
	if r.Status != 503 {
		t.Fatalf("a query with Postgres stopped: %d %s", r.Status, r.Body)
	}
	for _, s := range driverText {
		if strings.Contains(strings.ToLower(string(r.Body)), strings.ToLower(s)) {
			t.Fatalf("503 body leaks %q: %s", s, r.Body)
		}
	}

	pg.Start()
	took := poll(t, 10*time.Second, "health/db 200 again", func() bool {
		return app.Get(t, "/api/v1/health/db", "").Status == 200
	})
	t.Logf("/api/v1/health/db 200 again %s after Postgres was back", took.Round(time.Millisecond))
	if status, m := readyz(t, app); status != 200 {
		t.Fatalf("readyz %d %v after recovery", status, m)
	}
	app.Get(t, "/api/v1/probe/cached", "").Expect(t, 200)
}

// Postgres hanging (a network partition: connections open, nothing
// answers) is the hard case of the 2 s bound: no refused connection ends
// the request early, only the health check's own deadline does.
func TestPostgresHangs(t *testing.T) {
	t.Parallel()
	p, u := testkit.DatabaseProxy(t)
	app := testkit.Start(t, testkit.Env("DATABASE_URL", u.String()))
	app.Get(t, "/api/v1/health/db", "").Expect(t, 200)

	p.Hang()
	// The first request finds its pooled connection hung; the second dials
	// a new one that never completes its start-up.
	var slowest time.Duration
	for i := range 2 {
		start := time.Now()
		r := app.Get(t, "/api/v1/health/db", "")
		took := time.Since(start)
		slowest = max(slowest, took)
		if r.Status != 503 || took > 2*time.Second {
			t.Fatalf("request %d with Postgres hanging: %d after %s: %s", i, r.Status, took, r.Body)
		}
		for _, s := range driverText {
			if strings.Contains(strings.ToLower(string(r.Body)), strings.ToLower(s)) {
				t.Fatalf("503 body leaks %q: %s", s, r.Body)
			}
		}
	}
	t.Logf("slowest of 2 /api/v1/health/db 503s with Postgres hanging: %s", slowest.Round(time.Millisecond))
	start := time.Now()
	if status, m := readyz(t, app); status != 503 || time.Since(start) > 2*time.Second {
		t.Fatalf("readyz %d %v after %s with Postgres hanging", status, m, time.Since(start))
	}

	p.Heal()
	took := poll(t, 10*time.Second, "health/db 200 again", func() bool {
		return app.Get(t, "/api/v1/health/db", "").Status == 200
	})
	t.Logf("/api/v1/health/db 200 again %s after the partition healed", took.Round(time.Millisecond))
}

// An idle server (no request reaches memcached) reports memcached down in
// /readyz within about a second of it stopping or hanging, from a live
// check rather than the breaker, which only learns from requests; no
// /readyz waits on the dead memcached; and it reports it up again as soon.
func TestReadyzChecksMemcachedLive(t *testing.T) {
	t.Parallel()
	mc := testkit.StartMemcached(t)
	proxy := testkit.StartProxy(t, mc.Addr)
	app := testkit.Start(t, testkit.Env("MEMCACHED_ADDR", proxy.Addr))
	// Each /readyz answers well within this even with memcached hanging
	// (one ping per second, bounded by MEMCACHED_TIMEOUT: 100ms).
	const didNotHang = time.Second
	cache := func() string {
		t.Helper()
		start := time.Now()
		status, m := readyz(t, app)
		if took := time.Since(start); took > didNotHang {
			t.Fatalf("readyz took %s", took)
		}
		if status != 200 {
			t.Fatalf("readyz %d %v: memcached must not make the server unready", status, m)
		}
		return m["cache"].(string)
	}
	if got := cache(); got != "up" {
		t.Fatalf("cache %s with memcached up", got)
	}
	for _, outage := range []struct {
		name         string
		fault, clear func()
	}{
		{"stopped", mc.Stop, mc.Start},
		{"hanging", proxy.Hang, proxy.Heal},
	} {
		outage.fault()
		took := poll(t, 2*time.Second, "readyz reports memcached "+outage.name, func() bool { return cache() == "down" })
		t.Logf("memcached %s: readyz said down after %s", outage.name, took.Round(time.Millisecond))
		outage.clear()
		took = poll(t, 3*time.Second, "readyz reports memcached back", func() bool { return cache() == "up" })
		t.Logf("memcached back: readyz said up after %s", took.Round(time.Millisecond))
	}
}

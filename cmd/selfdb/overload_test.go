package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/platform/testkit"
)

// answer is one finished request of a burst.
type answer struct {
	req    testkit.Req
	status int
	retry  string
	body   string
	took   time.Duration
	err    error
}

// burst sends every request at once through the in-process stack and
// returns their answers, failing the test when any is still unanswered
// after within: a hang.
func burst(t *testing.T, a *testkit.App, reqs []testkit.Req, within time.Duration) []answer {
	t.Helper()
	out := make([]answer, len(reqs))
	built := make([]*http.Request, len(reqs))
	for i, r := range reqs {
		built[i] = testkit.BuildRequest(t, r)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			resp, err := a.Fiber.Test(built[i], -1)
			out[i] = answer{req: reqs[i], err: err, took: time.Since(t0)}
			if err != nil {
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out[i].status, out[i].retry, out[i].body = resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	close(start)
	select {
	case <-done:
	case <-time.After(within):
		t.Fatalf("%d concurrent requests not all answered within %s: the server hangs", len(reqs), within)
	}
	return out
}

// world is the fixture the tests below share: a superuser, a user, a table
// anyone may read and insert into.
type world struct {
	table       string
	su, user    string // access tokens
	userID      uuid.UUID
	email, pass string
}

// setUp makes the fixture; the table's name starts with table.
func setUp(t *testing.T, a *testkit.App, table string) world {
	t.Helper()
	login := func(email, pass string) map[string]any {
		return a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": email, "password": pass}}).Expect(t, 200).Map(t)
	}
	suffix := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	w := world{table: table + "_" + suffix, email: fmt.Sprintf("load-%s@example.com", suffix), pass: "password123"}
	w.su = login("admin@example.com", "adminpassword")["access_token"].(string)
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{"email": w.email, "password": w.pass}}).Expect(t, 200)
	m := login(w.email, w.pass)
	w.user, w.userID = m["access_token"].(string), uuid.MustParse(m["user_id"].(string))
	res := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/sql/query", Token: w.su, Body: map[string]any{"query": fmt.Sprintf(
		`CREATE TABLE public.%[1]s (id serial PRIMARY KEY, note text);
		INSERT INTO selfdb.table_policies (table_name, read_level, insert_level) VALUES ('%[1]s', 'public', 'public')
		ON CONFLICT (table_name) DO UPDATE SET read_level = 'public', insert_level = 'public'`, w.table)}}).Expect(t, 200).Map(t)
	if res["success"] != true {
		t.Fatal(res)
	}
	return w
}

// Three times as many concurrent requests as the pools have connections,
// on every route group that reaches the database, SQL console runs that
// sleep included, all at once on a small pool: every one is answered (none
// hangs, as they all did when console runs held the API pool's connections
// while waiting for another to record their history), each with a 2xx or a
// 503 with Retry-After, never a 500; afterwards the server is ready and
// serves reads.
func TestConcurrentLoadNeverHangs(t *testing.T) {
	const pool = 2
	a := testkit.Start(t, testkit.With(modules), testkit.Env(
		"DB_MAX_OPEN_CONNS", fmt.Sprint(pool), "SQL_CONSOLE_MAX_CONNS", fmt.Sprint(pool),
		"DB_ACQUIRE_TIMEOUT", "1s", "DB_QUERY_TIMEOUT", "2s"))
	w := setUp(t, a, "load")
	groups := []testkit.Req{
		{Method: "POST", Path: "/api/v1/sql/query", Token: w.su, Body: map[string]any{"query": "SELECT pg_sleep(0.6)"}},
		{Method: "GET", Path: "/api/v1/tables/" + w.table + "/data"},
		{Method: "POST", Path: "/api/v1/tables/" + w.table + "/data", Body: map[string]any{"note": "x"}},
		{Method: "GET", Path: "/api/v1/users", Token: w.su},
		{Method: "GET", Path: "/api/v1/buckets", Token: w.user},
		{Method: "GET", Path: "/api/v1/files", Token: w.user},
		{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": w.email, "password": w.pass}},
	}
	var reqs []testkit.Req
	for range 3 * pool {
		reqs = append(reqs, groups...)
	}
	// A request's database work ends within DB_ACQUIRE_TIMEOUT +
	// DB_QUERY_TIMEOUT (3 s); a console run within DB_ACQUIRE_TIMEOUT plus its
	// statements.
	var ok, busy int
	for _, r := range burst(t, a, reqs, 15*time.Second) {
		switch {
		case r.err != nil:
			t.Errorf("%s %s: %v", r.req.Method, r.req.Path, r.err)
		case r.status == http.StatusServiceUnavailable && r.retry != "":
			busy++
		case r.status >= 200 && r.status < 300:
			ok++
		default:
			t.Errorf("%s %s: %d after %s: %s", r.req.Method, r.req.Path, r.status, r.took.Round(time.Millisecond), r.body)
		}
		if r.took > 6*time.Second {
			t.Errorf("%s %s answered %d after %s", r.req.Method, r.req.Path, r.status, r.took.Round(time.Millisecond))
		}
	}
	t.Logf("%d requests: %d answered 2xx, %d 503 busy", len(reqs), ok, busy)
	a.Do(t, testkit.Req{Method: "GET", Path: "/readyz", NoKey: true}).Expect(t, 200)
	a.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/tables/" + w.table + "/data"}).Expect(t, 200)
	if r := a.Do(t, groups[0]).Expect(t, 200).Map(t); r["success"] != true {
		t.Fatalf("console after the burst: %v", r)
	}
}

// With Postgres hung (connections open, nothing answers), a table read, a
// login and a users/me whose user is not cached each answer 503 with
// Retry-After shortly after DB_QUERY_TIMEOUT (not after DB_READ_TIMEOUT,
// 60 s), and answer normally once Postgres does again.
func TestHungPostgresFailsFast(t *testing.T) {
	proxy, viaProxy := testkit.DatabaseProxy(t)
	const queryTimeout = time.Second
	a := testkit.Start(t, testkit.With(modules), testkit.Env(
		"DATABASE_URL", viaProxy.String(), "DB_QUERY_TIMEOUT", queryTimeout.String(), "DB_ACQUIRE_TIMEOUT", "1s"))
	w := setUp(t, a, "hang")
	reqs := []testkit.Req{
		{Method: "GET", Path: "/api/v1/tables/" + w.table + "/data"},
		{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": w.email, "password": w.pass}},
		{Method: "GET", Path: "/api/v1/users/me", Token: w.user},
	}
	// Warm up all but users/me: that user is then cached nowhere (neither in
	// memcached nor in the process) when Postgres hangs.
	for _, r := range reqs[:2] {
		a.Do(t, r).Expect(t, 200)
	}
	a.Cache.Invalidate(auth.UserCacheKey(a.Cache, w.userID))

	proxy.Hang()
	for _, r := range burst(t, a, reqs, 3*queryTimeout+2*time.Second) {
		if r.err != nil || r.status != http.StatusServiceUnavailable || r.retry == "" || !strings.Contains(r.body, `"code":"database_`) {
			t.Errorf("%s %s with Postgres hung: %d %q %s %v, want 503 with Retry-After", r.req.Method, r.req.Path, r.status, r.retry, r.body, r.err)
		}
		if r.took > 3*queryTimeout {
			t.Errorf("%s %s with Postgres hung answered after %s, want about %s", r.req.Method, r.req.Path, r.took.Round(time.Millisecond), queryTimeout)
		}
	}

	proxy.Heal()
	for _, r := range reqs {
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := a.Do(t, r)
			if got.Status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s %s after Postgres answers again: %s", r.Method, r.Path, got)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

package sqlconsole_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/selfdb/selfdb/platform/testkit"
)

// A run whose connection breaks under it (Postgres gone mid-statement) is a
// 503, not a 200 {success: false} that passes the network error off as the
// script's own failure (make chaos saw "EOF" reported so while Postgres
// hung).
func TestBrokenConnectionIsUnavailable(t *testing.T) {
	proxy, viaProxy := testkit.DatabaseProxy(t)
	w := start(t, "DATABASE_URL", viaProxy.String())
	direct := testkit.OpenDB(t, testkit.DatabaseURL())

	query := fmt.Sprintf("SELECT pg_sleep(30) AS broken_%d", time.Now().UnixNano())
	// Postgres does not notice the cut client while it sleeps.
	defer direct.NewRaw("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = ?", query).Exec(t.Context())
	req := testkit.BuildRequest(t, testkit.Req{Method: "POST", Path: "/api/v1/sql/query", Token: w.su.Token,
		Body: map[string]any{"query": query}})
	type answer struct {
		status int
		body   string
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := w.Fiber.Test(req, -1)
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- answer{status: resp.StatusCode, body: string(b)}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := direct.NewRaw("SELECT count(*) FROM pg_stat_activity WHERE query = ? AND state = 'active'", query).
			Scan(t.Context(), &n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	proxy.Cut()
	defer proxy.Restore()
	select {
	case a := <-done:
		if a.err != nil || a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, `"code":"database_unavailable"`) {
			t.Fatalf("run with its connection cut: %d %s %v, want 503 database_unavailable", a.status, a.body, a.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer 10 s after the connection was cut")
	}
}

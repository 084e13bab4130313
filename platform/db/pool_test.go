package db_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/testkit"
)

// apiPool opens the server's pool (APIPool) on rawURL with DB_QUERY_TIMEOUT
// set to q.
func apiPool(t *testing.T, rawURL string, q time.Duration) *config.Config {
	t.Helper()
	env := testkit.TestEnv(t)
	env["DATABASE_URL"] = rawURL
	env["DB_QUERY_TIMEOUT"] = q.String()
	cfg, err := config.Parse(env)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The API pool bounds each statement by DB_QUERY_TIMEOUT: Postgres cancels
// a slow one (statement_timeout), and a Postgres that stops answering fails
// the statement shortly after (503 database_unavailable) instead of after
// DB_READ_TIMEOUT; once it answers again, so does the pool.
func TestAPIPoolBoundsStatements(t *testing.T) {
	proxy, viaProxy := testkit.DatabaseProxy(t)
	// A parameter of the URL's own stays set next to statement_timeout.
	params := viaProxy.Query()
	params.Set("lock_timeout", "4321")
	viaProxy.RawQuery = params.Encode()
	const q = 300 * time.Millisecond
	cfg := apiPool(t, viaProxy.String(), q)
	d, err := db.OpenPool(cfg, db.APIPool(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()

	var timeout, lock string
	if err := d.QueryRowContext(ctx, `SELECT current_setting('statement_timeout'), current_setting('lock_timeout')`).Scan(&timeout, &lock); err != nil ||
		timeout != "300ms" || lock != "4321ms" {
		t.Fatalf("statement_timeout, lock_timeout = %q, %q (%v), want 300ms, 4321ms", timeout, lock, err)
	}
	_, err = d.ExecContext(ctx, `SELECT pg_sleep(2)`)
	if db.SQLState(err) != "57014" {
		t.Fatalf("slow statement: %v, want a statement timeout", err)
	}

	proxy.Hang()
	start := time.Now()
	_, err = d.ExecContext(ctx, `SELECT 1`)
	took := time.Since(start)
	var ae *apperr.Error
	if !errors.As(db.Err(err), &ae) || ae.Kind.Status() != http.StatusServiceUnavailable || ae.Headers["Retry-After"] == "" {
		t.Fatalf("query on a hung Postgres: %v → %v, want 503 with Retry-After", err, db.Err(err))
	}
	if took > 3*q {
		t.Errorf("query on a hung Postgres failed after %s, want about %s", took, q+q/4)
	}
	proxy.Heal()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := d.ExecContext(ctx, `SELECT 1`)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool did not recover: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// After a Postgres restart, the pool's idle connections are dead: each is
// dropped when next checked out (the server hung up on it), so the first
// requests after the restart succeed instead of failing one per connection.
func TestIdleConnectionsAfterRestartAreDropped(t *testing.T) {
	pg := testkit.StartPostgres(t)
	d := testkit.OpenDB(t, pg.URL, "DB_MAX_OPEN_CONNS", "4")
	ctx := context.Background()
	// Warm four connections: hold them all at once, then give them back.
	var conns []*sql.Conn
	for range 4 {
		c, err := d.DB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	pg.Stop()
	pg.Start()
	for i := range 8 {
		var one int
		if err := d.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			t.Fatalf("query %d after the restart: %v", i, err)
		}
	}
}

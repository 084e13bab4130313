package sqlconsole_test

import (
	"context"
	"sync"
	"testing"

	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/sqlconsole"
	"github.com/selfdb/selfdb/modules/tables"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

// consoleSession is what the console pool's connection carries between
// runs: its backend and the state a script can leave behind.
type consoleSession struct {
	PID               int
	ReadOnly, Timeout string
	ListeningChannels int
	TemporaryTables   int
}

func inspect(t *testing.T, pool *sqlconsole.Pool) consoleSession {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var s consoleSession
	err = conn.QueryRowContext(ctx, `SELECT pg_backend_pid(), current_setting('default_transaction_read_only'),
		current_setting('statement_timeout'), (SELECT count(*) FROM pg_listening_channels()),
		(SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema())`).
		Scan(&s.PID, &s.ReadOnly, &s.Timeout, &s.ListeningChannels, &s.TemporaryTables)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// What a console run leaves in its session (SET of the session's defaults,
// LISTEN, temporary tables) reaches neither the API's connections nor the
// next console run, which may be another superuser's: the console has its
// own pool, and its connection comes back from every run reset (DISCARD
// ALL), the same connection, not a new one.
func TestConsoleSessionDoesNotLeak(t *testing.T) {
	var pool *sqlconsole.Pool
	a := testkit.Start(t,
		testkit.With(auth.Module, users.Module, tables.Module, sqlconsole.Module, fx.Populate(&pool)),
		// One console connection: every run below shares it. Two API
		// connections, both used by the concurrent requests below.
		testkit.Env("SQL_CONSOLE_MAX_CONNS", "1", "DB_MAX_OPEN_CONNS", "2"))
	w := &world{App: a, su: login(t, a, "admin@example.com", "adminpassword"), user: newUser(t, a, false)}
	other := newUser(t, a, true)
	runAs := func(tok, q string) map[string]any {
		t.Helper()
		return w.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/sql/query", Token: tok, Body: map[string]any{"query": q}}).Expect(t, 200).Map(t)
	}
	if res := runAs(w.su.Token, `CREATE TABLE public.leak (id serial PRIMARY KEY, note text);
		INSERT INTO selfdb.table_policies (table_name, read_level, insert_level) VALUES ('leak', 'public', 'public')
		ON CONFLICT (table_name) DO UPDATE SET read_level = 'public', insert_level = 'public'`); res["success"] != true {
		t.Fatal(res)
	}
	clean := inspect(t, pool)

	for _, c := range []struct{ name, script, after string }{
		{"read-only default", `SET default_transaction_read_only = on`, ""},
		{"statement timeout", `SET statement_timeout = 1`, ""},
		{"listen", `LISTEN selfdb_leak`, `NOTIFY selfdb_leak, 'x'`},
		{"temporary table", `CREATE TEMPORARY TABLE scratch (id int)`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if res := runAs(w.su.Token, c.script); res["success"] != true {
				t.Fatalf("%s: %v", c.script, res)
			}
			if c.after != "" {
				if res := runAs(other.Token, c.after); res["success"] != true {
					t.Fatalf("%s after %s: %v", c.after, c.script, res)
				}
			}
			if got := inspect(t, pool); got != clean {
				t.Errorf("console connection after %q: %+v, want %+v", c.script, got, clean)
			}
			// The API's connections: two at a time, so both serve.
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(2)
				for _, r := range []testkit.Req{
					{Method: "POST", Path: "/api/v1/tables/leak/data", Token: w.user.Token, Body: map[string]any{"note": c.name}},
					{Method: "GET", Path: "/api/v1/tables/leak/data"},
				} {
					go func() {
						defer wg.Done()
						if got := w.Do(t, r); got.Status != 200 {
							t.Errorf("%s %s after %q: %s", r.Method, r.Path, c.script, got)
						}
					}()
				}
			}
			wg.Wait()
			// Another superuser's run that writes, on the same console connection.
			res := runAs(other.Token, `INSERT INTO public.leak (note) VALUES ('console') RETURNING id; SELECT pg_sleep(0.01)`)
			if res["success"] != true {
				t.Fatalf("another superuser's run after %q: %v", c.script, res)
			}
			hist := w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/sql/history?page_size=1", Token: other.Token}).Expect(t, 200).Map(t)
			if h := hist["history"].([]any); len(h) == 0 || h[0].(map[string]any)["error"] != nil {
				t.Errorf("history of the run after %q: %v", c.script, hist)
			}
		})
	}
}

package sqlconsole_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/selfdb/selfdb/platform/testkit"
)

func TestQueryAccess(t *testing.T) {
	w := start(t)
	for _, p := range []struct{ method, path string }{
		{"POST", "/api/v1/sql/query"}, {"GET", "/api/v1/sql/snippets"}, {"POST", "/api/v1/sql/snippets"},
		{"PUT", "/api/v1/sql/snippets/00000000-0000-0000-0000-000000000000"}, {"DELETE", "/api/v1/sql/snippets/00000000-0000-0000-0000-000000000000"},
		{"GET", "/api/v1/sql/history"}, {"POST", "/api/v1/sql/history"},
	} {
		body := map[string]any{"query": "SELECT 1"}
		r := w.Do(t, testkit.Req{Method: p.method, Path: p.path, Body: body})
		if r.Status != 401 || r.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("anon %s %s: %s", p.method, p.path, r)
		}
		r = w.Do(t, testkit.Req{Method: p.method, Path: p.path, Token: w.user.Token, Body: body})
		if r.Status != 403 || r.Map(t)["detail"] != "The user doesn't have enough privileges" {
			t.Errorf("user %s %s: %s", p.method, p.path, r)
		}
	}
	if n := w.count(t, `SELECT count(*) FROM selfdb.sql_history`); n != 0 {
		t.Errorf("refused requests recorded %d history rows", n)
	}
}

func TestQuery(t *testing.T) {
	w := start(t)
	res := w.run(t, map[string]any{"query": `
		CREATE TABLE public.pets (id serial PRIMARY KEY, name text, data jsonb);
		-- a comment; with a semicolon
		INSERT INTO public.pets (name, data) VALUES ('rex', '{"a": 1}'), ('it''s; fine', NULL) RETURNING id, name;
		UPDATE public.pets SET name = name || '!' WHERE id = 1;
		SELECT id, name, data, 1.5::numeric AS n, now() AS at FROM public.pets ORDER BY id;
		VALUES (1, 'x');
		SHOW statement_timeout;
		CREATE FUNCTION public.semi() RETURNS text LANGUAGE sql AS $fn$ SELECT 'a;b' $fn$;
		SELECT public.semi() AS s;
		WITH d AS (DELETE FROM public.pets WHERE id = 2 RETURNING id) SELECT count(*) AS deleted FROM d`})
	if res["success"] != true || res["is_read_only"] != false {
		t.Fatalf("result %v", res)
	}
	results := res["results"].([]any)
	if len(results) != 9 {
		t.Fatalf("%d results", len(results))
	}
	get := func(i int) map[string]any { return results[i].(map[string]any) }
	if c := get(0); c["message"] != "Statement executed successfully. 0 rows affected." || c["is_read_only"] != false || c["columns"] != nil {
		t.Errorf("create %v", c)
	}
	ins := get(1)
	if ins["row_count"] != float64(2) || ins["is_read_only"] != false || len(ins["columns"].([]any)) != 2 {
		t.Errorf("insert returning %v", ins)
	}
	if d := ins["data"].([]any); d[1].(map[string]any)["name"] != "it's; fine" {
		t.Errorf("insert data %v", d)
	}
	if u := get(2); u["message"] != "Statement executed successfully. 1 rows affected." || u["row_count"] != float64(1) {
		t.Errorf("update %v", u)
	}
	sel := get(3)
	if sel["is_read_only"] != true || sel["row_count"] != float64(2) || sel["truncated"] != false {
		t.Errorf("select %v", sel)
	}
	if cols := sel["columns"].([]any); strings.Join([]string{cols[0].(string), cols[1].(string), cols[2].(string), cols[3].(string), cols[4].(string)}, ",") != "id,name,data,n,at" {
		t.Errorf("columns %v", cols)
	}
	row := sel["data"].([]any)[0].(map[string]any)
	if row["name"] != "rex!" || row["n"] != "1.5" || row["id"] != float64(1) || row["data"].(map[string]any)["a"] != float64(1) {
		t.Errorf("row %v", row)
	}
	if _, err := time.Parse(time.RFC3339, row["at"].(string)); err != nil {
		t.Errorf("timestamp %v", row["at"])
	}
	if v := get(4); v["data"].([]any)[0].(map[string]any)["column1"] != float64(1) {
		t.Errorf("values %v", v)
	}
	if s := get(5); s["data"].([]any)[0].(map[string]any)["statement_timeout"] != "30s" {
		t.Errorf("show %v", s)
	}
	if s := get(7); s["data"].([]any)[0].(map[string]any)["s"] != "a;b" {
		t.Errorf("dollar-quoted function %v", s)
	}
	if s := get(8); s["data"].([]any)[0].(map[string]any)["deleted"] != float64(1) || s["is_read_only"] != false {
		t.Errorf("writable CTE %v", s)
	}
	if res["total_execution_time"] == nil || res["total_rows_affected"] == nil {
		t.Errorf("totals missing %v", res)
	}

	t.Run("arrays and text that looks like JSON stay strings", func(t *testing.T) {
		res := w.run(t, map[string]any{"query": `SELECT ARRAY[1,2] AS a, '{}'::int[] AS e, '{"x":1}'::text AS t, '[1]'::json AS j, 'NaN'::float8 AS f`})
		row := res["results"].([]any)[0].(map[string]any)["data"].([]any)[0].(map[string]any)
		if row["a"] != "{1,2}" || row["e"] != "{}" || row["t"] != `{"x":1}` || row["j"].([]any)[0] != float64(1) || row["f"] != "NaN" {
			t.Errorf("%v", row)
		}
	})
	t.Run("read-only run", func(t *testing.T) {
		res := w.run(t, map[string]any{"query": "SELECT count(*) AS n FROM public.pets; SELECT 2"})
		if res["success"] != true || res["is_read_only"] != true {
			t.Errorf("%v", res)
		}
	})
	t.Run("all or nothing", func(t *testing.T) {
		res := w.run(t, map[string]any{"query": "CREATE TABLE public.ghost (id int); INSERT INTO public.pets (name) VALUES ('ghost'); SELECT 1/0"})
		if res["success"] != false || !strings.Contains(res["error"].(string), "division by zero") || res["results"] != nil {
			t.Errorf("%v", res)
		}
		if w.count(t, `SELECT count(*) FROM pg_tables WHERE tablename = 'ghost'`) != 0 || w.count(t, `SELECT count(*) FROM public.pets WHERE name = 'ghost'`) != 0 {
			t.Error("a failed run left changes")
		}
	})
	t.Run("syntax error", func(t *testing.T) {
		res := w.run(t, map[string]any{"query": "SELEC 1"})
		if res["success"] != false || !strings.Contains(res["error"].(string), "syntax error") {
			t.Errorf("%v", res)
		}
	})
	t.Run("read_only transaction", func(t *testing.T) {
		res := w.run(t, map[string]any{"query": "INSERT INTO public.pets (name) VALUES ('ro')", "read_only": true})
		if res["success"] != false || !strings.Contains(res["error"].(string), "read-only") {
			t.Errorf("%v", res)
		}
		res = w.run(t, map[string]any{"query": "SELECT 1 AS one", "read_only": true})
		if res["success"] != true || res["is_read_only"] != true {
			t.Errorf("%v", res)
		}
	})
	t.Run("params", func(t *testing.T) {
		res := w.run(t, map[string]any{"query": "SELECT $1::int + $2::int AS s, $3::text AS t, $4::jsonb AS j, $5::text AS n", "params": []any{1, "2", "it's", map[string]any{"k": true}, nil}})
		row := res["results"].([]any)[0].(map[string]any)["data"].([]any)[0].(map[string]any)
		if row["s"] != float64(3) || row["t"] != "it's" || row["j"].(map[string]any)["k"] != true || row["n"] != nil {
			t.Errorf("%v", res)
		}
		res = w.run(t, map[string]any{"query": "INSERT INTO public.pets (name) VALUES ($1)", "params": []any{"'); DROP TABLE public.pets; --"}})
		if res["success"] != true || w.count(t, `SELECT count(*) FROM public.pets WHERE name = '''); DROP TABLE public.pets; --'`) != 1 {
			t.Errorf("param not bound as a value: %v", res)
		}
		w.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/sql/query", Token: w.su.Token, Body: map[string]any{"query": "SELECT $1; SELECT $1", "params": []any{1}}}).Expect(t, 422)
		res = w.run(t, map[string]any{"query": "SELECT $1::int AS x"})
		if res["success"] != false {
			t.Errorf("missing param: %v", res)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		for _, body := range []any{map[string]any{"query": ""}, map[string]any{"query": " -- only a comment\n ; "}, "nope", nil} {
			w.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/sql/query", Token: w.su.Token, Body: body}).Expect(t, 422)
		}
	})
	t.Run("history is recorded", func(t *testing.T) {
		var h struct {
			History  []map[string]any `json:"history"`
			Metadata map[string]any   `json:"metadata"`
		}
		w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/sql/history?page_size=100", Token: w.su.Token}).Expect(t, 200).JSON(t, &h)
		if len(h.History) < 8 || h.Metadata["total_count"] != float64(len(h.History)) {
			t.Fatalf("history %d entries, metadata %v", len(h.History), h.Metadata)
		}
		last := h.History[0]
		if last["query"] != "SELECT $1::int AS x" || last["error"] == nil || last["executed_at"] == nil || last["id"] == nil {
			t.Errorf("newest entry %v", last)
		}
		var ok map[string]any
		for _, e := range h.History {
			if e["query"] == "SELECT 1 AS one" {
				ok = e
			}
		}
		if ok == nil || ok["error"] != nil || ok["is_read_only"] != true || ok["row_count"] != float64(1) {
			t.Errorf("successful entry %v", ok)
		}
		w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/sql/history?page=2&page_size=3", Token: w.su.Token}).Expect(t, 200).JSON(t, &h)
		if len(h.History) != 3 || h.Metadata["page"] != float64(2) || h.Metadata["page_size"] != float64(3) {
			t.Errorf("page 2: %v", h.Metadata)
		}
		for _, bad := range []string{"?page=0", "?page_size=101", "?page_size=x"} {
			w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/sql/history" + bad, Token: w.su.Token}).Expect(t, 422)
		}
		r := w.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/sql/history", Token: w.su.Token, Body: map[string]any{"query": "SELECT 9", "is_read_only": true, "execution_time": 0.5, "row_count": 1}}).Expect(t, 200)
		if m := r.Map(t); m["query"] != "SELECT 9" || m["execution_time"] != 0.5 || m["id"] == nil {
			t.Errorf("posted history %s", r.Body)
		}
		w.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/sql/history", Token: w.su.Token, Body: map[string]any{"is_read_only": true}}).Expect(t, 422)
		// Another superuser has their own history.
		other := newUser(t, w.App, true)
		w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/sql/history", Token: other.Token}).Expect(t, 200).JSON(t, &h)
		if len(h.History) != 0 {
			t.Errorf("another superuser sees %d entries", len(h.History))
		}
	})
}

func TestLimits(t *testing.T) {
	w := start(t, "SQL_STATEMENT_TIMEOUT", "500ms", "SQL_ROW_CAP", "5", "DB_MAX_OPEN_CONNS", "2")
	t.Run("statement timeout", func(t *testing.T) {
		t0 := time.Now()
		res := w.run(t, map[string]any{"query": "SELECT 1; SELECT pg_sleep(10)"})
		if d := time.Since(t0); d > 3*time.Second {
			t.Errorf("timeout took %s", d)
		}
		if res["success"] != false || !strings.Contains(res["error"].(string), "statement timeout") {
			t.Errorf("%v", res)
		}
		// The pool is healthy: more runs than connections all work.
		for range 4 {
			if res := w.run(t, map[string]any{"query": "SELECT 1 AS ok"}); res["success"] != true {
				t.Fatalf("after a timeout: %v", res)
			}
		}
		w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/tables", Token: w.su.Token}).Expect(t, 200)
	})
	t.Run("COPY FROM STDIN fails cleanly and the pool stays healthy", func(t *testing.T) {
		res := w.run(t, map[string]any{"query": "CREATE TABLE public.cp (a int); COPY public.cp FROM STDIN"})
		if res["success"] != false {
			t.Errorf("%v", res)
		}
		for range 4 {
			if res := w.run(t, map[string]any{"query": "SELECT 1 AS ok"}); res["success"] != true {
				t.Fatalf("after COPY: %v", res)
			}
		}
		if w.count(t, `SELECT count(*) FROM pg_tables WHERE tablename = 'cp'`) != 0 {
			t.Error("the failed run's table exists")
		}
	})
	t.Run("long server errors read like short ones", func(t *testing.T) {
		for _, c := range []struct {
			n    int
			says string
		}{
			{5_000, "invalid input syntax for type integer"},
			// Past the driver's read buffer: no server text, but no driver text either.
			{500_000, "too long to show"},
		} {
			res := w.run(t, map[string]any{"query": "SELECT '" + strings.Repeat("x", c.n) + "'::int"})
			msg, _ := res["error"].(string)
			if res["success"] != false || !strings.Contains(msg, c.says) || strings.Contains(msg, "bufio") {
				t.Errorf("%d characters: %.300v", c.n, res)
			}
			for range 4 {
				if res := w.run(t, map[string]any{"query": "SELECT 1 AS ok"}); res["success"] != true {
					t.Fatalf("after a long error: %v", res)
				}
			}
		}
	})
	t.Run("row cap", func(t *testing.T) {
		res := w.run(t, map[string]any{"query": "SELECT g FROM generate_series(1, 100) g; SELECT 1 AS one"})
		r0 := res["results"].([]any)[0].(map[string]any)
		if r0["truncated"] != true || len(r0["data"].([]any)) != 5 || r0["row_count"] != float64(5) {
			t.Errorf("capped %v", r0)
		}
		if r1 := res["results"].([]any)[1].(map[string]any); r1["truncated"] != false {
			t.Errorf("second %v", r1)
		}
	})
}

// TestSchemaCache: SQL that changes tables is visible through the tables
// routes at once (the schema generation is bumped), and tables created
// through SQL get the default policy.
func TestSchemaCache(t *testing.T) {
	w := start(t)
	w.run(t, map[string]any{"query": "CREATE TABLE public.viaSQL (id int PRIMARY KEY)"})
	var d map[string]any
	w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/tables/viasql", Token: w.user.Token}).Expect(t, 200).JSON(t, &d)
	if msg := testkit.Match(map[string]any{"access": map[string]any{"read": "authenticated", "insert": "authenticated", "update": "superuser", "delete": "superuser"}}, d); msg != "" {
		t.Error(msg)
	}
	w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/tables/viasql/data", Token: ""}).Expect(t, 401)
	w.run(t, map[string]any{"query": "ALTER TABLE public.viasql ADD COLUMN extra text"})
	var cols []map[string]any
	w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/tables/viasql/structure", Token: w.user.Token}).Expect(t, 200).JSON(t, &cols)
	if len(cols) != 2 || cols[1]["column_name"] != "extra" {
		t.Errorf("structure not refreshed: %v", cols)
	}
	w.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/tables/viasql/data", Token: w.user.Token, Body: map[string]any{"id": 1, "extra": "x"}}).Expect(t, 200)
	// A read-only run does not bump the generation, a write does.
	w.run(t, map[string]any{"query": "UPDATE selfdb.table_policies SET read_level = 'public' WHERE table_name = 'viasql'"})
	w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/tables/viasql/data"}).Expect(t, 200)
	// A policy follows a rename done in SQL.
	w.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/tables/viasql", Token: w.su.Token, Body: map[string]any{"access": map[string]any{"read": "superuser"}}}).Expect(t, 200)
	w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/tables/viasql/data", Token: w.user.Token}).Expect(t, 403)
	w.run(t, map[string]any{"query": "ALTER TABLE public.viasql RENAME TO renamed"})
	w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/tables/renamed/data", Token: w.user.Token}).Expect(t, 403)
	w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/tables/viasql/data", Token: w.user.Token}).Expect(t, 404)
	w.run(t, map[string]any{"query": "ALTER TABLE public.renamed RENAME TO viasql"})
	w.run(t, map[string]any{"query": "DROP TABLE public.viasql"})
	w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/tables/viasql", Token: w.su.Token}).Expect(t, 404)
	if n := w.count(t, `SELECT count(*) FROM selfdb.table_policies WHERE table_name = 'viasql'`); n != 0 {
		t.Error("policy of a table dropped through SQL was kept")
	}
}

// A script cannot end or re-open the run's transaction: COMMIT would make
// what precedes it permanent and run the rest without the statement timeout;
// SET TRANSACTION READ WRITE would undo read_only. Savepoints work.
func TestTransactionStaysWhole(t *testing.T) {
	w := start(t)
	for _, q := range []string{
		"CREATE TABLE public.tx_a (i int); COMMIT; SELECT 1/0",
		"COMMIT; CREATE TABLE public.tx_a (i int)",
		"CREATE TABLE public.tx_a (i int); END",
		"ROLLBACK; CREATE TABLE public.tx_a (i int)",
		"rollback work; CREATE TABLE public.tx_a (i int)",
		"ABORT; CREATE TABLE public.tx_a (i int)",
		"BEGIN; CREATE TABLE public.tx_a (i int)",
		"START TRANSACTION; CREATE TABLE public.tx_a (i int)",
		"CREATE TABLE public.tx_a (i int); PREPARE TRANSACTION 'x'",
		"/* hidden */ commit; CREATE TABLE public.tx_a (i int)",
	} {
		res := w.run(t, map[string]any{"query": q})
		if res["success"] != false || !strings.Contains(fmt.Sprint(res["error"]), "Transaction control") {
			t.Errorf("%q: %v", q, res)
		}
	}
	if n := w.count(t, `SELECT count(*) FROM pg_tables WHERE tablename = 'tx_a'`); n != 0 {
		t.Fatal("a statement of a refused script ran")
	}

	res := w.run(t, map[string]any{"query": "SET TRANSACTION READ WRITE; CREATE TABLE public.tx_b (i int)", "read_only": true})
	if res["success"] != false {
		t.Errorf("read_only script turned read-write: %v", res)
	}
	if n := w.count(t, `SELECT count(*) FROM pg_tables WHERE tablename = 'tx_b'`); n != 0 {
		t.Fatal("a read_only run created a table")
	}

	res = w.run(t, map[string]any{"query": `CREATE TABLE public.tx_c (i int); SAVEPOINT s; INSERT INTO public.tx_c VALUES (1);
		ROLLBACK TO SAVEPOINT s; INSERT INTO public.tx_c VALUES (2); RELEASE SAVEPOINT s; rollback transaction to s2`})
	if res["success"] != false || strings.Contains(fmt.Sprint(res["error"]), "Transaction control") {
		t.Errorf("savepoints refused, or an unknown savepoint accepted: %v", res)
	}
	res = w.run(t, map[string]any{"query": `CREATE TABLE public.tx_c (i int); SAVEPOINT s; INSERT INTO public.tx_c VALUES (1);
		ROLLBACK TO SAVEPOINT s; INSERT INTO public.tx_c VALUES (2); RELEASE SAVEPOINT s`})
	if res["success"] != true {
		t.Fatalf("savepoints: %v", res)
	}
	if n := w.count(t, `SELECT coalesce(sum(i), 0) FROM public.tx_c`); n != 2 {
		t.Errorf("rows after ROLLBACK TO: sum %d, want 2", n)
	}
	ro := w.run(t, map[string]any{"query": "SELECT count(*) AS n FROM public.tx_c", "read_only": true})
	if ro["success"] != true {
		t.Errorf("read_only select: %v", ro)
	}
}

// Text pasted from a web page carries NBSPs: around statements they are
// blanks, so a trailing comment is no empty statement (Postgres would refuse
// it) and a leading one hides no SELECT from the read-only guess.
func TestQueryUnicodeSpaces(t *testing.T) {
	w := start(t)
	res := w.run(t, map[string]any{"query": "\u00a0SELECT 1 AS one;\v/* note */\u00a0"})
	if res["success"] != true {
		t.Fatalf("result %v", res)
	}
	results := res["results"].([]any)
	if len(results) != 1 || results[0].(map[string]any)["is_read_only"] != true {
		t.Errorf("results %v", results)
	}
}

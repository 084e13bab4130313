package sqlconsole

import (
	"reflect"
	"strings"
	"testing"
)

func sqls(st []Statement) []string {
	out := make([]string, len(st))
	for i, s := range st {
		out[i] = s.SQL
	}
	return out
}

func TestSplit(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", []string{}},
		{"only semicolons and space", " ; ;\n; ", []string{}},
		{"one", "SELECT 1", []string{"SELECT 1"}},
		{"trailing semicolon", "SELECT 1;", []string{"SELECT 1"}},
		{"two", "SELECT 1; SELECT 2;", []string{"SELECT 1", "SELECT 2"}},
		{"semicolon in string", "SELECT 'a;b'; SELECT 2", []string{"SELECT 'a;b'", "SELECT 2"}},
		{"doubled quote", "SELECT 'it''s;'; SELECT 2", []string{"SELECT 'it''s;'", "SELECT 2"}},
		{"E string backslash quote", `SELECT E'a\';b'; SELECT 2`, []string{`SELECT E'a\';b'`, "SELECT 2"}},
		{"lower e string", `SELECT e'\\'; SELECT 2`, []string{`SELECT e'\\'`, "SELECT 2"}},
		{"backslash in standard string ends it", `SELECT 'a\'; SELECT 2`, []string{`SELECT 'a\'`, "SELECT 2"}},
		{"identifier ending in e is not E string", `SELECT some'x;'`, []string{`SELECT some'x;'`}},
		{"quoted identifier", `SELECT 1 AS "a;b""c"; SELECT 2`, []string{`SELECT 1 AS "a;b""c"`, "SELECT 2"}},
		{"dollar quote", "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT 2",
			[]string{"CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", "SELECT 2"}},
		{"tagged dollar quote with inner $$", "DO $body$ BEGIN PERFORM $$;$$; END $body$; SELECT 2",
			[]string{"DO $body$ BEGIN PERFORM $$;$$; END $body$", "SELECT 2"}},
		{"positional param is not a quote", "SELECT $1; SELECT $2", []string{"SELECT $1", "SELECT $2"}},
		{"dollar inside identifier", "SELECT a$b$ FROM t; SELECT 2", []string{"SELECT a$b$ FROM t", "SELECT 2"}},
		{"line comment", "SELECT 1 -- no; split\n; SELECT 2", []string{"SELECT 1 -- no; split", "SELECT 2"}},
		{"comment only statement dropped", "-- just a comment;\n/* and ; this */ ;SELECT 1", []string{"SELECT 1"}},
		{"nested block comment", "SELECT /* a /* b; */ c; */ 1; SELECT 2", []string{"SELECT /* a /* b; */ c; */ 1", "SELECT 2"}},
		{"unterminated string runs to end", "SELECT 'abc; SELECT 2", []string{"SELECT 'abc; SELECT 2"}},
		{"unterminated dollar runs to end", "SELECT $x$ abc; SELECT 2", []string{"SELECT $x$ abc; SELECT 2"}},
		{"unterminated comment", "SELECT 1; /* open ; ", []string{"SELECT 1"}},
		{"unicode spaces only", "\v; \u00a0 ;SELECT 1", []string{"SELECT 1"}},
		{"comment beside unicode spaces dropped", "SELECT 1; /* c */\u00a0; -- d\n\v", []string{"SELECT 1"}},
		{"unicode space between words kept in the text", "SELECT a\u00a0b\u00a0", []string{"SELECT a\u00a0b"}},
		{"minus is not comment", "SELECT 3-1; SELECT 2", []string{"SELECT 3-1", "SELECT 2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := sqls(Split(c.in))
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Split(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
		})
	}
}

func TestReadOnlyGuess(t *testing.T) {
	cases := map[string]bool{
		"SELECT 1":                             true,
		"with x as (select 1) select * from x": true,
		"WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d": false,
		"SELECT * INTO t2 FROM t":                               false,
		"EXPLAIN ANALYZE DELETE FROM t":                         false,
		"EXPLAIN SELECT 1":                                      true,
		"INSERT INTO t VALUES (1)":                              false,
		"SHOW search_path":                                      true,
		"select nextval('s')":                                   false,
		"-- c\nSELECT 'delete'":                                 true,
		"\u00a0SELECT 1":                                        true,
	}
	for in, want := range cases {
		st := Split(in)
		if len(st) != 1 {
			t.Fatalf("%q: %d statements", in, len(st))
		}
		if got := readOnlyGuess(st[0].Words); got != want {
			t.Errorf("readOnlyGuess(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzSplit checks that Split never panics, loses no code, and that each
// statement re-splits into itself.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"SELECT 1; SELECT 2", "SELECT 'a;''b'", `E'\';'`, `"x;""y"`, "$$;$$", "$a$ $$ ; $a$;", "$1;$2",
		"-- c\n;", "/* /* */ ; */;", "'", "\"", "$", "$a", "/*", "--", "E'\\", "x$y$;$y$", ";;;",
		"SELECT 1 /* c */ ; -- d\n SELECT e'\\\\'", "\x00;\xff'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st := Split(s)
		for _, x := range st {
			if x.SQL == "" {
				t.Fatalf("empty statement from %q", s)
			}
			if !strings.Contains(s, x.SQL) {
				t.Fatalf("statement %q is not part of %q", x.SQL, s)
			}
			again := Split(x.SQL)
			if len(again) != 1 || again[0].SQL != x.SQL {
				// A statement may end in an unterminated construct that
				// swallowed later ';', which re-splits the same way.
				t.Fatalf("statement %q re-splits into %q", x.SQL, sqls(again))
			}
		}
	})
}

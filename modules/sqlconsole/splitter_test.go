package sqlconsole

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
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

// FuzzSplit checks that Split never panics, cuts where a lexer written apart
// from it does (no code lost, no statement but the last ending inside a
// quote or comment), and that each statement re-splits into itself, with the
// same words.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"SELECT 1; SELECT 2", "SELECT 'a;''b'", `E'\';'`, `"x;""y"`, "$$;$$", "$a$ $$ ; $a$;", "$1;$2",
		"-- c\n;", "/* /* */ ; */;", "'", "\"", "$", "$a", "/*", "--", "E'\\", "x$y$;$y$", ";;;",
		"SELECT 1 /* c */ ; -- d\n SELECT e'\\\\'", "\x00;\xff'",
		"\u00a0E'\\';'", "x\u2028$$;$$", "\u00a0/* c */\v;", "é$a$;$a$", "$E'\\';",
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
			if !reflect.DeepEqual(again[0].Words, x.Words) || len(x.Words) > maxWords {
				t.Fatalf("statement %q: words %q, re-split %q", x.SQL, x.Words, again[0].Words)
			}
		}
		checkCover(t, s, st)
	})
}

// checkCover checks Split against refSplit, written apart from it on
// refLex: the same statements, so every piece of code in the script is in
// one (concatenated, they cover the script's non-comment SQL); and each
// statement but the last ends outside any quote, dollar quote or block
// comment (only an unterminated one, running to the end, may leave it open).
func checkCover(t *testing.T, script string, st []Statement) {
	t.Helper()
	want := refSplit(script)
	if got := sqls(st); !reflect.DeepEqual(got, want) {
		t.Fatalf("Split(%q)\n got %q\nwant %q", script, got, want)
	}
	for k, x := range st {
		if _, open := refLex(x.SQL); open && k != len(st)-1 {
			t.Fatalf("statement %q ends inside a quote or comment (from %q)", x.SQL, script)
		}
	}
}

// refSplit cuts refLex's tokens at ';' and keeps, trimmed, the pieces that
// hold code.
func refSplit(script string) []string {
	toks, _ := refLex(script)
	out := []string{}
	var cur strings.Builder
	code := false
	for i, tk := range toks {
		if tk.kind != tokSemicolon {
			cur.WriteString(tk.text)
			code = code || tk.kind == tokCode
		}
		if tk.kind == tokSemicolon || i == len(toks)-1 {
			if code {
				out = append(out, strings.TrimSpace(cur.String()))
			}
			cur.Reset()
			code = false
		}
	}
	return out
}

type tokKind int

const (
	tokSpace tokKind = iota
	tokSemicolon
	tokLineComment
	tokBlockComment
	tokCode
)

type tok struct {
	kind tokKind
	text string
}

var (
	// The quoted tokens, as the first group; refEString is E'...' at the
	// start of a word (backslash escapes). A closing quote is never followed
	// by another, which would make the two an escaped quote: without that,
	// backtracking would end the unterminated E'''\' after its second quote.
	refEString = regexp.MustCompile(`^(?s)([eE]'(?:[^'\\]|\\.|'')*')(?:[^']|$)`)
	refString  = regexp.MustCompile(`^(?s)('(?:[^']|'')*')(?:[^']|$)`)
	refIdent   = regexp.MustCompile(`^(?s)("(?:[^"]|"")*")(?:[^"]|$)`)
)

// wordByte is a byte of an identifier, keyword or number (any non-ASCII byte
// is one, as in Postgres, but for Unicode spaces: see wordLen).
func wordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// wordLen is the length of the word s starts with: a '$' inside one is part
// of it, so a dollar quote starts only where no word goes on; a Unicode
// space ends it.
func wordLen(s string) int {
	n := 0
	for n < len(s) && (wordByte(s[n]) || n > 0 && s[n] == '$') {
		if r, size := utf8.DecodeRuneInString(s[n:]); unicode.IsSpace(r) {
			return n
		} else if r != utf8.RuneError {
			n += size
		} else {
			n++
		}
	}
	return n
}

// dollarOpen is the $tag$ s starts with, or "" ($1 is a parameter).
func dollarOpen(s string) string {
	if len(s) < 2 || s[0] != '$' || s[1] >= '0' && s[1] <= '9' {
		return ""
	}
	n := 1
	for n < len(s) && wordByte(s[n]) {
		n++
	}
	if n < len(s) && s[n] == '$' {
		return s[:n+1]
	}
	return ""
}

// refLex tokenizes s by Postgres' lexical rules as the console applies them;
// open reports a quote, dollar quote or block comment left unterminated.
func refLex(s string) (toks []tok, open bool) {
	emit := func(k tokKind, n int) {
		toks = append(toks, tok{k, s[:n]})
		s = s[n:]
	}
	for s != "" {
		// After a '$' (even one closing a dollar quote) E'...' is a word
		// "E" then a plain string, and $$ opens no dollar quote: Split
		// counts '$' as a word byte there. Postgres would start a token,
		// but two such tokens without a blank between are a syntax error.
		afterDollar := len(toks) > 0 && strings.HasSuffix(toks[len(toks)-1].text, "$")
		if r, n := utf8.DecodeRuneInString(s); r == ';' {
			emit(tokSemicolon, 1)
			continue
		} else if unicode.IsSpace(r) {
			// Unicode spaces too: the console's blanks are TrimSpace's.
			emit(tokSpace, n)
			continue
		}
		switch {
		case strings.HasPrefix(s, "--"):
			n := strings.IndexByte(s, '\n')
			if n < 0 {
				n = len(s)
			}
			emit(tokLineComment, n)
		case strings.HasPrefix(s, "/*"):
			depth, i := 1, 2
			for i < len(s) && depth > 0 {
				switch {
				case strings.HasPrefix(s[i:], "/*"):
					depth, i = depth+1, i+2
				case strings.HasPrefix(s[i:], "*/"):
					depth, i = depth-1, i+2
				default:
					i++
				}
			}
			if depth > 0 {
				return append(toks, tok{tokBlockComment, s}), true
			}
			emit(tokBlockComment, i)
		case s[0] == '\'' || s[0] == '"' || (s[0] == 'e' || s[0] == 'E') && len(s) > 1 && s[1] == '\'' && !afterDollar:
			re := refString
			switch {
			case s[0] == '"':
				re = refIdent
			case s[0] != '\'':
				re = refEString
			}
			m := re.FindStringSubmatch(s)
			if m == nil {
				return append(toks, tok{tokCode, s}), true
			}
			emit(tokCode, len(m[1]))
		case !afterDollar && dollarOpen(s) != "":
			tag := dollarOpen(s)
			end := strings.Index(s[len(tag):], tag)
			if end < 0 {
				return append(toks, tok{tokCode, s}), true
			}
			emit(tokCode, len(tag)+end+len(tag))
		case wordLen(s) > 0:
			emit(tokCode, wordLen(s))
		default:
			emit(tokCode, 1)
		}
	}
	return toks, false
}

package sqlconsole

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Statement is one statement of a script.
type Statement struct {
	// SQL is the statement's text, trimmed, without its terminating ';'.
	SQL string
	// Words are its first keywords (outside quotes and comments), lower-case,
	// for the read-only guess shown to clients.
	Words []string
}

// maxWords bounds how many keywords a Statement keeps.
const maxWords = 64

// Split cuts a script into statements at top-level semicolons. It knows
// Postgres' lexical rules: '...' strings with ” escapes, E'...' strings with
// backslash escapes, "..." identifiers, $tag$...$tag$ bodies, -- comments and
// nested /* */ comments. Unicode spaces (NBSP...) are blanks, as they are
// to the TrimSpace of each statement, though Postgres reads them as
// identifier bytes. Statements holding only whitespace and comments are
// dropped. An unterminated quote or comment runs to the end of the script
// (Postgres then reports the error).
func Split(script string) []Statement {
	var out []Statement
	start := 0
	hasCode := false
	var words []string
	emit := func(end int) {
		if hasCode {
			out = append(out, Statement{SQL: strings.TrimSpace(script[start:end]), Words: words})
		}
		start, hasCode, words = end+1, false, nil
	}
	n := len(script)
	for i := 0; i < n; {
		c := script[i]
		switch {
		case c == ';':
			emit(i)
			i++
		case c == '-' && i+1 < n && script[i+1] == '-':
			for i < n && script[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && script[i+1] == '*':
			depth := 1
			i += 2
			for i < n && depth > 0 {
				switch {
				case script[i] == '/' && i+1 < n && script[i+1] == '*':
					depth++
					i += 2
				case script[i] == '*' && i+1 < n && script[i+1] == '/':
					depth--
					i += 2
				default:
					i++
				}
			}
		case c == '\'':
			hasCode = true
			backslash := i > 0 && (script[i-1] == 'e' || script[i-1] == 'E') && wordEnds(script, i-1)
			i = skipQuoted(script, i+1, '\'', backslash)
		case c == '"':
			hasCode = true
			i = skipQuoted(script, i+1, '"', false)
		case c == '$' && wordEnds(script, i):
			hasCode = true
			if tag, ok := dollarTag(script, i); ok {
				body := i + len(tag)
				if end := strings.Index(script[body:], tag); end >= 0 {
					i = body + end + len(tag)
				} else {
					i = n
				}
			} else {
				i++
			}
		case spaceLen(script[i:]) > 0:
			i += spaceLen(script[i:])
		case identStart(c):
			hasCode = true
			j := i + 1
			for j < n && identChar(script[j]) && spaceLen(script[j:]) == 0 {
				j++
			}
			if len(words) < maxWords {
				words = append(words, strings.ToLower(script[i:j]))
			}
			i = j
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		default:
			hasCode = true
			i++
		}
	}
	emit(n)
	return out
}

// skipQuoted returns the index after the closing quote q of a literal whose
// body starts at i. A doubled quote is an escaped quote; with backslash,
// \x escapes any character.
func skipQuoted(s string, i int, q byte, backslash bool) int {
	for i < len(s) {
		switch {
		case backslash && s[i] == '\\':
			i += 2
		case s[i] == q:
			if i+1 < len(s) && s[i+1] == q {
				i += 2
				continue
			}
			return i + 1
		default:
			i++
		}
	}
	return len(s)
}

// dollarTag reads $tag$ at i (tag: identifier characters, not starting with
// a digit, possibly empty). $1 is a parameter, not a quote.
func dollarTag(s string, i int) (string, bool) {
	j := i + 1
	if j < len(s) && s[j] >= '0' && s[j] <= '9' {
		return "", false
	}
	for j < len(s) && s[j] != '$' {
		if !identChar(s[j]) || s[j] == '$' {
			return "", false
		}
		j++
	}
	if j >= len(s) {
		return "", false
	}
	return s[i : j+1], true
}

// spaceLen is the length of the non-ASCII Unicode space s starts with, or 0.
func spaceLen(s string) int {
	if s == "" || s[0] < utf8.RuneSelf {
		return 0
	}
	if r, n := utf8.DecodeRuneInString(s); unicode.IsSpace(r) {
		return n
	}
	return 0
}

// wordEnds reports whether script[i] would start a token: no identifier
// or keyword runs on into it.
func wordEnds(script string, i int) bool {
	if i == 0 || !identChar(script[i-1]) {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(script[:i])
	return unicode.IsSpace(r)
}

func identStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func identChar(c byte) bool {
	return identStart(c) || c >= '0' && c <= '9' || c == '$'
}

// readOnlyGuess says whether a statement looks like it only reads: it starts
// with SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN (without ANALYZE) and has
// no data-changing keyword. It is only what clients are shown per statement;
// whether a run wrote anything is decided by Postgres (see Service.Run).
func readOnlyGuess(words []string) bool {
	if len(words) == 0 {
		return false
	}
	switch words[0] {
	case "select", "with", "values", "table", "show", "explain":
	default:
		return false
	}
	for _, w := range words {
		switch w {
		case "insert", "update", "delete", "merge", "into", "analyze", "analyse", "truncate", "create", "drop", "alter", "nextval", "setval":
			return false
		}
	}
	return true
}

package tables

import (
	"regexp"
	"strings"
)

// identRE is the one shape a caller-supplied identifier may have (api.md §6.2).
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// ValidIdent reports whether s may name a table or column.
func ValidIdent(s string) bool { return identRE.MatchString(s) }

// quoteIdent quotes an identifier for SQL. Callers validate caller input with
// ValidIdent first; quoting still doubles any '"' so that names read from the
// catalog (which may hold anything) are safe too.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// qualified is the quoted public.<name> of a user table.
func qualified(table string) string { return `"public".` + quoteIdent(table) }

// quoteLiteral renders s as an escape-string literal (E'...'), whose meaning
// does not depend on standard_conforming_strings. DDL cannot take bind
// parameters, so defaults and comments are inlined this way. ok is false for
// strings Postgres cannot hold (NUL bytes).
func quoteLiteral(s string) (lit string, ok bool) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	b.WriteString("E'")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b.WriteString("''")
		case '\\':
			b.WriteString(`\\`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String(), true
}

// castTypeRE bounds what a catalog type name may look like before it is used
// in a cast: builtin names (with spaces), optionally schema-qualified and
// quoted by format_type, with array brackets. Anything else is bound without a
// cast and left to Postgres' inference.
var castTypeRE = regexp.MustCompile(`^(("[A-Za-z0-9_ ]+"|[a-z_][a-z0-9_ ]*)\.)?("[A-Za-z0-9_ ]+"|[a-z_][a-z0-9_ ]*)(\[\])*$`)

// typedLiteral renders a caller's value as an escaped literal cast to the
// column's type (castType comes from the catalog, never from the caller; a
// name that doesn't look like one is left out and Postgres infers the type
// from context). pgdriver interpolates bind arguments into the query text
// client-side anyway, so this is the same thing done with an encoder whose
// escaping is ours and independent of server settings.
func typedLiteral(s, castType string) (string, bool) {
	l, ok := quoteLiteral(s)
	if !ok {
		return "", false
	}
	if castType != "" && castTypeRE.MatchString(castType) {
		return l + "::" + unbounded(castType), true
	}
	return l, true
}

// unbounded is the cast for a value of a column of type t (format_type
// without its modifier): a bare `character` is character(1) and `bit` is
// bit(1), so an explicit cast would silently cut a longer value ("ab" into
// a char(2) column stored "a"); their unbounded forms leave the length
// check to the column.
func unbounded(t string) string {
	base, dims := t, ""
	if i := strings.Index(t, "["); i >= 0 {
		base, dims = t[:i], t[i:]
	}
	switch base {
	case "character":
		return "bpchar" + dims
	case "bit":
		return "bit varying" + dims
	}
	return t
}

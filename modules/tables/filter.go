package tables

import (
	"strings"
)

// Op is a PostgREST-style filter operator (api.md §6.2 #3, EXT).
type Op string

// The filter operators.
const (
	OpEq    Op = "eq"
	OpNeq   Op = "neq"
	OpGt    Op = "gt"
	OpGte   Op = "gte"
	OpLt    Op = "lt"
	OpLte   Op = "lte"
	OpLike  Op = "like"
	OpIlike Op = "ilike"
	OpIs    Op = "is"
	OpIn    Op = "in"
)

// sqlOps maps the comparison operators to SQL; like/ilike/is/in are special.
var sqlOps = map[Op]string{OpEq: "=", OpNeq: "<>", OpGt: ">", OpGte: ">=", OpLt: "<", OpLte: "<="}

// maxInValues bounds an in.(...) list.
const maxInValues = 1000

// Filter is one parsed `?col=op.value` condition.
type Filter struct {
	Column string
	Op     Op
	// Values holds one value, or the list of an `in`; empty for `is`.
	Values []string
	// Is is the keyword of an `is` filter: null, not_null, true, false.
	Is string
}

// ParseFilter parses the query parameter col=op.value. The column is only
// checked for shape here; the caller checks that it exists.
func ParseFilter(column, raw string) (Filter, error) {
	if !ValidIdent(column) {
		return Filter{}, errBadFilterf("Invalid filter column '%s'", column)
	}
	opText, value, found := strings.Cut(raw, ".")
	if !found {
		return Filter{}, errBadFilterf("Invalid filter '%s': use %s=<op>.<value> with op one of eq, neq, gt, gte, lt, lte, like, ilike, is, in", raw, column)
	}
	f := Filter{Column: column, Op: Op(strings.ToLower(opText))}
	switch f.Op {
	case OpEq, OpNeq, OpGt, OpGte, OpLt, OpLte:
		f.Values = []string{value}
	case OpLike, OpIlike:
		// PostgREST spells the wildcard '*' so URLs need no escaping.
		f.Values = []string{strings.ReplaceAll(value, "*", "%")}
	case OpIs:
		switch v := strings.ToLower(value); v {
		case "null", "not_null", "true", "false", "unknown":
			f.Is = v
		case "not.null":
			f.Is = "not_null"
		default:
			return Filter{}, errBadFilterf("Invalid value '%s' for is: use null, not_null, true or false", value)
		}
	case OpIn:
		vals, err := parseInList(value)
		if err != nil {
			return Filter{}, err
		}
		f.Values = vals
	default:
		return Filter{}, errBadFilterf("Unknown filter operator '%s': use eq, neq, gt, gte, lt, lte, like, ilike, is or in", opText)
	}
	return f, nil
}

// parseInList reads `(a,b,"c,d")`: values separated by commas, optionally
// double-quoted with backslash escapes.
func parseInList(s string) ([]string, error) {
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return nil, errBadFilterf("Invalid in filter '%s': use in.(a,b,c)", s)
	}
	s = s[1 : len(s)-1]
	var out []string
	if strings.TrimSpace(s) == "" {
		return nil, errBadFilterf("Invalid in filter: the list is empty")
	}
	var cur strings.Builder
	quoted, inQuote, escaped := false, false, false
	flush := func() error {
		v := cur.String()
		if !quoted {
			v = strings.TrimSpace(v)
		}
		out = append(out, v)
		cur.Reset()
		quoted = false
		if len(out) > maxInValues {
			return errBadFilterf("Invalid in filter: more than %d values", maxInValues)
		}
		return nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			cur.WriteByte(c)
			escaped = false
		case inQuote && c == '\\':
			escaped = true
		case c == '"' && inQuote:
			inQuote = false
		case c == '"' && strings.TrimSpace(cur.String()) == "" && !quoted:
			cur.Reset()
			inQuote, quoted = true, true
		case c == ',' && !inQuote:
			if err := flush(); err != nil {
				return nil, err
			}
		default:
			if quoted && !inQuote {
				if c == ' ' {
					continue
				}
				return nil, errBadFilterf("Invalid in filter: text after a closing quote")
			}
			cur.WriteByte(c)
		}
	}
	if inQuote || escaped {
		return nil, errBadFilterf("Invalid in filter: unterminated quote")
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// OrderBy is one ORDER BY item.
type OrderBy struct {
	Column string
	Desc   bool
}

// ParseOrderBy reads `col`, `col:asc|desc`, `col asc|desc` or `col.asc|desc`,
// comma-separated for several columns.
func ParseOrderBy(raw string) ([]OrderBy, error) {
	var out []OrderBy
	for _, item := range strings.Split(raw, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, errBadOrderf("Invalid order_by '%s'", raw)
		}
		col, dir := item, ""
		if i := strings.IndexAny(item, ": ."); i >= 0 {
			col, dir = item[:i], strings.ToLower(strings.TrimSpace(item[i+1:]))
		}
		if !ValidIdent(col) {
			return nil, errBadOrderf("Invalid order_by column '%s'", col)
		}
		o := OrderBy{Column: col}
		switch dir {
		case "", "asc":
		case "desc":
			o.Desc = true
		default:
			return nil, errBadOrderf("Invalid order_by direction '%s': use asc or desc", dir)
		}
		out = append(out, o)
	}
	return out, nil
}

// ParseSelect reads `col1,col2`; "*" or empty means every column.
func ParseSelect(raw string) ([]string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "*" {
		return nil, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range strings.Split(raw, ",") {
		c = strings.TrimSpace(c)
		if !ValidIdent(c) {
			return nil, errBadSelectf("Invalid select column '%s'", c)
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

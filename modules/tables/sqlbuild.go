package tables

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/identity"
)

// The SQL of the data routes. Identifiers come from the catalog (or were
// checked against it) and are always quoted; values are escaped literals cast
// to the column's catalog type. Rows come back as one JSON array built by
// Postgres, so no row is decoded and re-encoded in Go.

// rfc3339 is the to_char pattern of timestamps (UTC, microseconds, "Z").
const rfc3339 = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`

// outputExpr renders a column for the JSON output: numeric as a string,
// timestamps as RFC 3339 in UTC (naive timestamps are taken as UTC), json as
// nested values (json_agg does that by itself).
func outputExpr(c *Column) string {
	q := quoteIdent(c.Name)
	switch c.CastType {
	case "numeric", "money":
		return q + "::text AS " + q
	case "timestamp with time zone":
		return "to_char(" + q + " AT TIME ZONE 'UTC', " + rfc3339 + ") AS " + q
	case "timestamp without time zone":
		return "to_char(" + q + ", " + rfc3339 + ") AS " + q
	}
	return q
}

// selectList renders the output expressions of cols.
func selectList(cols []*Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = outputExpr(c)
	}
	return strings.Join(parts, ", ")
}

// rawList renders cols as bare column references.
func rawList(cols []*Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = quoteIdent(c.Name)
	}
	return strings.Join(parts, ", ")
}

// jsonRows wraps a row source in the aggregate that returns a JSON array.
func jsonRows(cols []*Column, from string) string {
	return "SELECT coalesce(json_agg(j), '[]'::json)::text FROM (SELECT " + selectList(cols) + " FROM " + from + ") j"
}

// allColumns is every column of m, in table order.
func allColumns(m *Meta) []*Column {
	out := make([]*Column, len(m.Columns))
	for i := range m.Columns {
		out[i] = &m.Columns[i]
	}
	return out
}

// lit renders value as a literal of c's type.
func lit(value string, c *Column) (string, error) {
	l, ok := typedLiteral(value, c.CastType)
	if !ok {
		return "", db.ErrInvalidValue.WithMessage("Invalid value for column '%s': NUL bytes are not allowed", c.Name)
	}
	return l, nil
}

// textLiteral renders value as a text literal.
func textLiteral(value string) (string, error) {
	l, ok := quoteLiteral(value)
	if !ok {
		return "", db.ErrInvalidValue.WithMessage("Invalid value: NUL bytes are not allowed")
	}
	return l, nil
}

// escapeLike makes s match itself in LIKE.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// filterSQL renders one parsed filter against m.
func filterSQL(m *Meta, f Filter) (string, error) {
	c := m.column(f.Column)
	if c == nil {
		return "", errUnknownColumn(f.Column, m.Name)
	}
	q := quoteIdent(c.Name)
	switch f.Op {
	case OpIs:
		return q + " IS " + map[string]string{"null": "NULL", "not_null": "NOT NULL", "true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN"}[f.Is], nil
	case OpLike, OpIlike:
		l, err := textLiteral(f.Values[0])
		if err != nil {
			return "", err
		}
		return q + "::text " + strings.ToUpper(string(f.Op)) + " " + l, nil
	case OpIn:
		parts := make([]string, len(f.Values))
		for i, v := range f.Values {
			l, err := lit(v, c)
			if err != nil {
				return "", err
			}
			parts[i] = l
		}
		return q + " IN (" + strings.Join(parts, ", ") + ")", nil
	}
	op, ok := sqlOps[f.Op]
	if !ok {
		return "", errBadFilterf("Unknown filter operator '%s'", f.Op)
	}
	l, err := lit(f.Values[0], c)
	if err != nil {
		return "", err
	}
	return q + " " + op + " " + l, nil
}

// ownerCond restricts rows to those owned by ownerID (nil: no restriction).
func ownerCond(m *Meta, ownerID *string) (string, error) {
	if ownerID == nil {
		return "", nil
	}
	c := m.ownerColumn()
	if c == nil {
		return "", identity.ErrNotEnoughPrivileges
	}
	l, err := lit(*ownerID, c)
	if err != nil {
		return "", err
	}
	return quoteIdent(c.Name) + " = " + l, nil
}

// where joins conditions.
func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// valueText turns one JSON value sent for column c into the text Postgres
// parses as c's type; null reports SQL NULL.
func valueText(raw json.RawMessage, c *Column) (text string, null bool, err error) {
	raw = bytes.TrimSpace(raw)
	bad := func(why string) error {
		return db.ErrInvalidValue.WithMessage("Invalid value for column '%s' (%s): %s", c.Name, c.DataType, why)
	}
	if len(raw) == 0 {
		return "", false, bad("empty value")
	}
	switch raw[0] {
	case 'n':
		return "", true, nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, bad("not a string")
		}
		if c.json() {
			// Clients of the Python version send JSON-encoded strings.
			if t := strings.TrimSpace(s); len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid([]byte(t)) {
				return t, false, nil
			}
			return string(raw), false, nil
		}
		return s, false, nil
	case '{', '[':
		if c.json() {
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return "", false, bad("not valid JSON")
			}
			return buf.String(), false, nil
		}
		if raw[0] == '[' && c.array() {
			var v []any
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			if err := d.Decode(&v); err != nil {
				return "", false, bad("not a valid array")
			}
			return pgArray(v), false, nil
		}
		return "", false, bad("objects and arrays are only accepted for json, jsonb and array columns")
	default:
		// Numbers and booleans: their JSON text is also Postgres' input
		// syntax (and valid JSON for json columns).
		if !json.Valid(raw) {
			return "", false, bad("not a JSON value")
		}
		return string(raw), false, nil
	}
}

// pgArray renders a decoded JSON array as a Postgres array literal.
func pgArray(v []any) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		switch x := e.(type) {
		case nil:
			b.WriteString("NULL")
		case []any:
			b.WriteString(pgArray(x))
		case json.Number:
			b.WriteString(x.String())
		case bool:
			b.WriteString(strconv.FormatBool(x))
		case string:
			b.WriteString(quoteArrayElem(x))
		default:
			j, _ := json.Marshal(x)
			b.WriteString(quoteArrayElem(string(j)))
		}
	}
	b.WriteByte('}')
	return b.String()
}

func quoteArrayElem(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// valueSQL renders a JSON value as a literal for column c.
func valueSQL(raw json.RawMessage, c *Column) (string, error) {
	text, null, err := valueText(raw, c)
	if err != nil {
		return "", err
	}
	if null {
		return "NULL", nil
	}
	return lit(text, c)
}

// maxBatchRows bounds one batch insert.
const maxBatchRows = 1000

// buildInsert renders an all-or-nothing insert of rows (one statement).
// Columns missing from a row take their default.
func buildInsert(m *Meta, rows []map[string]json.RawMessage) (string, error) {
	if len(rows) > maxBatchRows {
		return "", ErrTooManyRows.WithMessage("At most %d rows per insert", maxBatchRows)
	}
	// RETURNING * of a table made through SQL without columns is a syntax
	// error, not the caller's.
	if len(m.Columns) == 0 {
		return "", db.ErrInvalidValue.WithMessage("Table '%s' has no columns", m.Name)
	}
	set := map[string]bool{}
	for _, r := range rows {
		for k := range r {
			if m.column(k) == nil {
				return "", errUnknownColumn(k, m.Name)
			}
			set[k] = true
		}
	}
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return m.position(names[i]) < m.position(names[j]) })
	var b strings.Builder
	b.WriteString("WITH r AS (INSERT INTO ")
	b.WriteString(qualified(m.Name))
	if len(names) == 0 && len(rows) == 1 {
		b.WriteString(" DEFAULT VALUES")
	} else {
		if len(names) == 0 {
			// A batch of empty rows: every value of one column is DEFAULT.
			names = []string{m.Columns[0].Name}
		}
		b.WriteString(" (")
		for i, n := range names {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(n))
		}
		b.WriteString(") VALUES ")
		for ri, r := range rows {
			if ri > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for i, n := range names {
				if i > 0 {
					b.WriteString(", ")
				}
				raw, ok := r[n]
				if !ok {
					b.WriteString("DEFAULT")
					continue
				}
				v, err := valueSQL(raw, m.column(n))
				if err != nil {
					return "", err
				}
				b.WriteString(v)
			}
			b.WriteByte(')')
		}
	}
	b.WriteString(" RETURNING *) ")
	b.WriteString(jsonRows(allColumns(m), "r"))
	return b.String(), nil
}

// position is a column's index, for a stable column order.
func (m *Meta) position(name string) int {
	for i := range m.Columns {
		if m.Columns[i].Name == name {
			return i
		}
	}
	return len(m.Columns)
}

// rowCond matches the row(s) whose idCol equals id, owned by ownerID when set.
func rowCond(m *Meta, idCol, id string, ownerID *string) (string, error) {
	c := m.column(idCol)
	if c == nil {
		return "", errUnknownColumn(idCol, m.Name)
	}
	l, err := lit(id, c)
	if err != nil {
		return "", err
	}
	conds := []string{quoteIdent(c.Name) + " = " + l}
	oc, err := ownerCond(m, ownerID)
	if err != nil {
		return "", err
	}
	if oc != "" {
		conds = append(conds, oc)
	}
	return where(conds), nil
}

// buildUpdate renders the update of one row by id.
func buildUpdate(m *Meta, idCol, id string, values map[string]json.RawMessage, ownerID *string) (string, error) {
	w, err := rowCond(m, idCol, id, ownerID)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(values))
	for k := range values {
		if m.column(k) == nil {
			return "", errUnknownColumn(k, m.Name)
		}
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return m.position(names[i]) < m.position(names[j]) })
	sets := make([]string, len(names))
	for i, n := range names {
		v, err := valueSQL(values[n], m.column(n))
		if err != nil {
			return "", err
		}
		sets[i] = quoteIdent(n) + " = " + v
	}
	return "WITH r AS (UPDATE " + qualified(m.Name) + " SET " + strings.Join(sets, ", ") + w + " RETURNING *) " +
		jsonRows(allColumns(m), "r"), nil
}

// buildDelete renders the delete of one row by id.
func buildDelete(m *Meta, idCol, id string, ownerID *string) (string, error) {
	w, err := rowCond(m, idCol, id, ownerID)
	if err != nil {
		return "", err
	}
	return "WITH r AS (DELETE FROM " + qualified(m.Name) + w + " RETURNING *) " + jsonRows(allColumns(m), "r"), nil
}

package tables

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The query of GET /{t}/data: one round trip returns the total, the page's
// rows as one JSON array and the position of its last row when more follow
// (for next_cursor).

// exactCountBelow is the row estimate under which counts are exact; from it
// on, counts that may be estimated are the planner's (api.md §6.2 #2).
const exactCountBelow = 100000

// CountMode is how total_count is computed (?count= or Prefer: count=).
type CountMode string

// The count modes. CountDefault is the contract's rule: exact for filtered
// (and owner-restricted) reads, the planner's estimate for an unfiltered
// table of exactCountBelow rows or more.
const (
	CountDefault   CountMode = ""
	CountExact     CountMode = "exact"
	CountPlanned   CountMode = "planned"
	CountEstimated CountMode = "estimated"
	CountNone      CountMode = "none"
)

// ParseCountMode reads a count option; ok is false for an unknown one.
func ParseCountMode(s string) (CountMode, bool) {
	switch m := CountMode(strings.ToLower(strings.TrimSpace(s))); m {
	case CountExact, CountPlanned, CountEstimated, CountNone:
		return m, true
	}
	return "", false
}

// ListParams are the parsed query parameters of GET /{t}/data.
type ListParams struct {
	Page, PageSize int
	// PageSet says page was sent (it cannot be combined with a cursor).
	PageSet bool
	Order   []OrderBy
	Select  []string
	Filters []Filter
	// SearchColumn/SearchValue are filter_column/filter_value: a
	// case-insensitive substring match on the column as text.
	SearchColumn, SearchValue string
	// Cursor is a next_cursor of an earlier page ("" for none).
	Cursor string
	Count  CountMode
}

// orderKey is one ORDER BY item, resolved against the table.
type orderKey struct {
	col  *Column
	desc bool
}

// listPlan is a data page taken apart: the columns it returns, the rows it
// counts and the order it walks them in.
type listPlan struct {
	m     *Meta
	cols  []*Column
	conds []string
	order []orderKey
	// keyed: the order ends in the primary key, so every row has a unique
	// position a cursor can name. Tables without a primary key have none.
	keyed bool
}

// planList resolves p against m, restricted to ownerID's rows when set.
// order_by is completed with the primary key columns it lacks, so that
// paging is stable (ties keep one order) and the order is a cursor's key.
func planList(m *Meta, p ListParams, ownerID *string) (*listPlan, error) {
	pl := &listPlan{m: m, cols: allColumns(m)}
	if len(p.Select) > 0 {
		pl.cols = pl.cols[:0:0]
		for _, name := range p.Select {
			c := m.column(name)
			if c == nil {
				return nil, errUnknownColumn(name, m.Name)
			}
			pl.cols = append(pl.cols, c)
		}
	}
	for _, f := range p.Filters {
		s, err := filterSQL(m, f)
		if err != nil {
			return nil, err
		}
		pl.conds = append(pl.conds, s)
	}
	if p.SearchColumn != "" {
		c := m.column(p.SearchColumn)
		if c == nil {
			return nil, errUnknownColumn(p.SearchColumn, m.Name)
		}
		l, err := textLiteral("%" + escapeLike(p.SearchValue) + "%")
		if err != nil {
			return nil, err
		}
		pl.conds = append(pl.conds, quoteIdent(c.Name)+"::text ILIKE "+l)
	}
	oc, err := ownerCond(m, ownerID)
	if err != nil {
		return nil, err
	}
	if oc != "" {
		pl.conds = append(pl.conds, oc)
	}
	seen := map[string]bool{}
	for _, o := range p.Order {
		c := m.column(o.Column)
		if c == nil {
			return nil, errUnknownColumn(o.Column, m.Name)
		}
		if !seen[c.Name] { // a repeated column orders nothing more
			seen[c.Name] = true
			pl.order = append(pl.order, orderKey{col: c, desc: o.Desc})
		}
	}
	for _, pk := range m.PrimaryKeys {
		c := m.column(pk)
		if c == nil {
			pl.keyed = false
			break
		}
		pl.keyed = true
		if !seen[pk] {
			seen[pk] = true
			pl.order = append(pl.order, orderKey{col: c})
		}
	}
	return pl, nil
}

// orderSQL is the ORDER BY list; without a primary key or order_by, the
// physical order.
func (pl *listPlan) orderSQL() string {
	if len(pl.order) == 0 {
		return "src.ctid"
	}
	parts := make([]string, len(pl.order))
	for i, k := range pl.order {
		// Qualified: a bare name would sort by the output expression (numeric as text).
		parts[i] = "src." + quoteIdent(k.col.Name)
		if k.desc {
			parts[i] += " DESC"
		} else {
			parts[i] += " ASC"
		}
	}
	return strings.Join(parts, ", ")
}

// pageSQL renders the page query: count is total_count's expression (see
// countSQL), after a cursor's position (afterSQL; nil for none). It returns
// three values: the total, the rows as a JSON array, and the order key of
// the page's last row when the table is keyed and rows follow, as a JSON
// array of texts. A keyed page reads one row more than it returns, which
// tells whether rows follow. When the order key can be read back from the
// rows' JSON (keyInRows), the query returns that row too, and no key:
// cutRows takes both from the rows; otherwise a CTE holds the rows and the
// query cuts the page and reads the key itself (a CTE costs about as much
// planning and execution as the rest of a first page).
//
// The page is cut from the bare columns; only the rows returned are
// formatted (to_char, numeric as text, the JSON encoding): computed before
// the LIMIT, they would be for every row the OFFSET skips.
func (pl *listPlan) pageSQL(count string, after []string, limit, offset int) string {
	rows := func(src string) string {
		return "(SELECT coalesce(json_agg(j), '[]'::json)::text FROM (SELECT " + selectList(pl.cols) + " FROM (" + src + ") src) j)"
	}
	if !pl.keyed {
		page := "SELECT " + rawList(pl.cols) + " FROM " + qualified(pl.m.Name) + " AS src" + where(pl.conds) +
			" ORDER BY " + pl.orderSQL() + " LIMIT " + strconv.Itoa(limit) + " OFFSET " + strconv.Itoa(offset)
		return "SELECT " + count + ", " + rows(page) + ", NULL::text"
	}
	// One row more than the page tells whether another page follows.
	n1 := " LIMIT " + strconv.Itoa(limit+1)
	branch := func(cond string) string {
		conds := pl.conds
		if cond != "" {
			conds = append(conds[:len(conds):len(conds)], cond)
		}
		return "SELECT " + rawList(pl.needed()) + " FROM " + qualified(pl.m.Name) + " AS src" + where(conds) + " ORDER BY " + pl.orderSQL() + n1
	}
	var page string
	switch len(after) {
	case 0:
		page = branch("") + " OFFSET " + strconv.Itoa(offset)
	case 1:
		page = branch(after[0])
	default:
		// Each branch is an index range; together, in order, the rows after.
		parts := make([]string, len(after))
		for i, a := range after {
			parts[i] = "(" + branch(a) + ")"
		}
		page = "SELECT * FROM (" + strings.Join(parts, " UNION ALL ") + ") src ORDER BY " + pl.orderSQL() + n1
	}
	if pl.keyInRows() {
		return "SELECT " + count + ", " + rows(page) + ", NULL::text"
	}
	keys := make([]string, len(pl.order))
	for i, k := range pl.order {
		keys[i] = "src." + quoteIdent(k.col.Name) + "::text"
	}
	return "WITH p AS MATERIALIZED (" + page + ") SELECT " + count + ", " +
		rows("SELECT * FROM p LIMIT "+strconv.Itoa(limit)) +
		", (SELECT json_build_array(" + strings.Join(keys, ", ") + ")::text FROM (SELECT * FROM p OFFSET " +
		strconv.Itoa(limit-1) + " LIMIT 1) src WHERE EXISTS (SELECT FROM p OFFSET " + strconv.Itoa(limit) + "))"
}

// rowKeyTypes are the types whose JSON in a page is their text in
// Postgres (a number, or a string holding it): an order key of these types
// can be read back from the rows. Not timestamps (to_char loses the era and
// infinities), arrays or JSON documents.
var rowKeyTypes = map[string]bool{
	"smallint": true, "integer": true, "bigint": true, "numeric": true, "real": true, "double precision": true,
	"text": true, "character varying": true, "character": true, "uuid": true, "boolean": true, "date": true,
}

// keyInRows reports whether every order key column is in the output, of a
// type whose JSON gives back its text (rowKeyTypes).
func (pl *listPlan) keyInRows() bool {
	for _, k := range pl.order {
		if !rowKeyTypes[k.col.CastType] || !slices.Contains(pl.cols, k.col) {
			return false
		}
	}
	return pl.keyed
}

// cutRows takes a keyInRows page of up to limit+1 rows (json_agg's array)
// apart: the first limit rows, byte for byte as json_agg makes them, and,
// when the extra row is there, the order key of the last row kept. It reads
// only as far as the limit-th row and decodes only the key's values (a
// json.Unmarshal of the row cost a twentieth of a first page).
func (pl *listPlan) cutRows(rows string, limit int) (page string, key []*string, err error) {
	// json_agg separates rows with ", \n ": the limit-th top-level comma
	// ends the page, and says another row follows.
	commas, ok := topCommas(rows, limit)
	if !ok {
		return "", nil, errBadRows
	}
	if len(commas) < limit {
		return rows, nil, nil
	}
	start := 1
	if limit > 1 {
		start = commas[limit-2] + 1
	}
	last := strings.TrimSpace(rows[start:commas[limit-1]])
	members, ok := topCommas(last, -1)
	if !ok || len(last) < 2 || last[0] != '{' {
		return "", nil, errBadRows
	}
	values := make(map[string]string, len(members)+1)
	from := 1
	for _, end := range append(members, len(last)-1) {
		name, value, ok := splitMember(last[from:end])
		if !ok {
			return "", nil, errBadRows
		}
		values[name] = value
		from = end + 1
	}
	key = make([]*string, len(pl.order))
	for i, k := range pl.order {
		raw, ok := values[k.col.Name]
		switch {
		case !ok:
			return "", nil, fmt.Errorf("tables: page row lacks order key %q", k.col.Name)
		case raw == "null":
		case raw[0] == '"':
			v, ok := jsonString(raw)
			if !ok {
				return "", nil, errBadRows
			}
			key[i] = &v
		default:
			key[i] = &raw
		}
	}
	return rows[:commas[limit-1]] + "]", key, nil
}

// errBadRows is a page that is not json_agg's array of objects.
var errBadRows = errors.New("tables: page rows are not a JSON array of objects")

// topCommas returns the offsets of the commas directly inside the JSON
// array or object s, at most max of them (max < 0: all); ok is false when a
// string is not closed.
func topCommas(s string, max int) (commas []int, ok bool) {
	depth := 0
	for i := 0; i < len(s) && len(commas) != max; i++ {
		switch s[i] {
		case '"':
			end, ok := stringEnd(s, i)
			if !ok {
				return nil, false
			}
			i = end
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case ',':
			if depth == 1 {
				commas = append(commas, i)
			}
		}
	}
	return commas, true
}

// stringEnd returns the offset of the quote closing the JSON string that
// opens at s[open].
func stringEnd(s string, open int) (int, bool) {
	for k := open + 1; ; {
		q := strings.IndexByte(s[k:], '"')
		if q < 0 {
			return 0, false
		}
		k += q
		backslashes := 0
		for m := k - 1; m > open && s[m] == '\\'; m-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return k, true
		}
		k++
	}
}

// splitMember reads `"name":value` (JSON text) into the decoded name and
// the value's text.
func splitMember(m string) (name, value string, ok bool) {
	m = strings.TrimSpace(m)
	if len(m) == 0 || m[0] != '"' {
		return "", "", false
	}
	end, ok := stringEnd(m, 0)
	if !ok {
		return "", "", false
	}
	if name, ok = jsonString(m[:end+1]); !ok {
		return "", "", false
	}
	rest := strings.TrimSpace(m[end+1:])
	if len(rest) < 2 || rest[0] != ':' {
		return "", "", false
	}
	return name, strings.TrimSpace(rest[1:]), true
}

// jsonString decodes a JSON string literal.
func jsonString(raw string) (string, bool) {
	if len(raw) < 2 {
		return "", false
	}
	if !strings.Contains(raw, `\`) {
		return raw[1 : len(raw)-1], true
	}
	var s string
	return s, json.Unmarshal([]byte(raw), &s) == nil
}

// needed is the columns the page query reads: the output and the order key.
func (pl *listPlan) needed() []*Column {
	out := append([]*Column(nil), pl.cols...)
	have := map[string]bool{}
	for _, c := range out {
		have[c.Name] = true
	}
	for _, k := range pl.order {
		if !have[k.col.Name] {
			have[k.col.Name] = true
			out = append(out, k.col)
		}
	}
	return out
}

// exactCountSQL counts the plan's rows.
func (pl *listPlan) exactCountSQL() string {
	return "(SELECT count(*) FROM " + qualified(pl.m.Name) + where(pl.conds) + ")"
}

// estimateSQL asks the planner how many rows the plan counts.
func (pl *listPlan) estimateSQL() string {
	return "EXPLAIN (FORMAT JSON) SELECT 1 FROM " + qualified(pl.m.Name) + where(pl.conds)
}

// needsEstimate says whether countSQL needs the planner's estimate for mode
// (a round trip of its own, EXPLAIN).
func (pl *listPlan) needsEstimate(mode CountMode) bool {
	return mode == CountPlanned || mode == CountEstimated && len(pl.conds) > 0
}

// countSQL renders total_count's expression for mode; estimate is the
// planner's figure when needsEstimate asked for it.
func (pl *listPlan) countSQL(mode CountMode, estimate int64) string {
	switch {
	case mode == CountNone:
		return "NULL::bigint"
	case mode == CountExact:
		return pl.exactCountSQL()
	case mode == CountPlanned:
		return strconv.FormatInt(estimate, 10) + "::bigint"
	case len(pl.conds) > 0 && mode == CountEstimated:
		if estimate >= exactCountBelow {
			return strconv.FormatInt(estimate, 10) + "::bigint"
		}
		return pl.exactCountSQL()
	case len(pl.conds) > 0:
		return pl.exactCountSQL()
	}
	// Unfiltered: cheap on big tables, the planner's estimate once it is large.
	from := qualified(pl.m.Name)
	return "(SELECT CASE WHEN c.reltuples >= " + strconv.Itoa(exactCountBelow) +
		" THEN c.reltuples::bigint ELSE (SELECT count(*) FROM " + from + ") END FROM pg_class c WHERE c.oid = " +
		strconv.FormatUint(uint64(pl.m.OID), 10) + ")"
}

// binding is what a cursor is bound to: the table (name and OID), the
// output columns, the conditions (filters, search and the owner
// restriction, in a canonical order) and the order key with its types.
func (pl *listPlan) binding() string {
	var b strings.Builder
	b.WriteString(strconv.FormatUint(uint64(pl.m.OID), 10) + "\x00" + pl.m.Name + "\x00select")
	for _, c := range pl.cols {
		b.WriteString("\x00" + c.Name)
	}
	conds := append([]string(nil), pl.conds...)
	sort.Strings(conds)
	b.WriteString("\x00where")
	for _, c := range conds {
		b.WriteString("\x00" + c)
	}
	b.WriteString("\x00order")
	for _, k := range pl.order {
		b.WriteString("\x00" + k.col.Name + " " + k.col.CastType)
		if k.desc {
			b.WriteString(" desc")
		}
	}
	return b.String()
}

// afterSQL renders "the row comes after the position vals" in the plan's
// order (a cursor's condition), as one condition or as the branches of a
// UNION ALL. NULLs sort as Postgres sorts them: last in ascending order,
// first in descending order. vals holds one value per order key, as text
// (nil for NULL).
//
// The leading key bounds the scan (c >= v, an index range on c); where
// NULLs sit on the far side of that bound (ascending past a value, or
// descending from NULL) they are a branch of their own, so that no branch
// walks the index from its start.
func (pl *listPlan) afterSQL(vals []*string) ([]string, error) {
	n := len(pl.order)
	if len(vals) != n || n == 0 {
		return nil, errCursorInvalid
	}
	lits := make([]string, n)
	plain := true // one direction and no NULL: a row comparison
	for i, k := range pl.order {
		if vals[i] == nil {
			if k.col.IsNullable == "NO" {
				return nil, errCursorInvalid
			}
			plain = false
			continue
		}
		l, err := keyLiteral(*vals[i], k.col)
		if err != nil {
			return nil, err
		}
		lits[i] = l
		if k.desc != pl.order[0].desc || !k.desc && k.col.IsNullable != "NO" {
			plain = false
		}
	}
	col := func(i int) string { return "src." + quoteIdent(pl.order[i].col.Name) }
	if plain {
		if n == 1 {
			return []string{col(0) + pl.cmp(0, ">") + lits[0]}, nil
		}
		left := make([]string, n)
		for i := range left {
			left[i] = col(i)
		}
		return []string{"(" + strings.Join(left, ", ") + ")" + pl.cmp(0, ">") + "(" + strings.Join(lits, ", ") + ")"}, nil
	}
	// gt(i): key i is past the position; "" when nothing is.
	gt := func(i int) string {
		switch k := pl.order[i]; {
		case vals[i] == nil && k.desc:
			return col(i) + " IS NOT NULL"
		case vals[i] == nil:
			return ""
		case !k.desc && k.col.IsNullable != "NO":
			return "(" + col(i) + " > " + lits[i] + " OR " + col(i) + " IS NULL)"
		}
		return col(i) + pl.cmp(i, ">") + lits[i]
	}
	eq := func(i int) string {
		if vals[i] == nil {
			return col(i) + " IS NULL"
		}
		return col(i) + " = " + lits[i]
	}
	// rest: keys 1.. are past the position, from the last key up.
	rest := "FALSE"
	for i := n - 1; i >= 1; i-- {
		tail := "(" + eq(i) + " AND " + rest + ")"
		if i == n-1 {
			tail = "FALSE"
		}
		switch g := gt(i); {
		case g == "":
			rest = tail
		case tail == "FALSE":
			rest = g
		default:
			rest = "(" + g + " OR " + tail + ")"
		}
	}
	k0 := pl.order[0]
	if vals[0] == nil {
		if !k0.desc { // ascending, NULL: only NULLs follow
			return []string{col(0) + " IS NULL AND " + rest}, nil
		}
		return []string{col(0) + " IS NOT NULL", col(0) + " IS NULL AND " + rest}, nil
	}
	past := col(0) + pl.cmp(0, ">") + lits[0]
	if n > 1 {
		past = "(" + past + " OR (" + eq(0) + " AND " + rest + "))"
	}
	branches := []string{col(0) + pl.cmp(0, ">=") + lits[0] + " AND " + past}
	if !k0.desc && k0.col.IsNullable != "NO" {
		branches = append(branches, col(0)+" IS NULL")
	}
	return branches, nil
}

// cmp is op (">" or ">=") in key i's direction: "past" is "less" descending.
func (pl *listPlan) cmp(i int, op string) string {
	if pl.order[i].desc {
		return " " + strings.Replace(op, ">", "<", 1) + " "
	}
	return " " + op + " "
}

// keyLiteral renders an order key value (text from Postgres) as a literal
// of c's type.
func keyLiteral(v string, c *Column) (string, error) {
	l, ok := typedLiteral(v, c.CastType)
	if !ok {
		return "", errCursorInvalid
	}
	return l, nil
}

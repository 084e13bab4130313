package tables

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/identity"
)

func TestValidIdent(t *testing.T) {
	good := []string{"a", "_", "users", "User_2", "_x9", strings.Repeat("a", 63)}
	bad := []string{"", "1a", "a-b", "a b", `a"b`, "a;drop", "é", strings.Repeat("a", 64), "a.b", "a$b", "a\x00"}
	for _, s := range good {
		if !ValidIdent(s) {
			t.Errorf("ValidIdent(%q) = false", s)
		}
	}
	for _, s := range bad {
		if ValidIdent(s) {
			t.Errorf("ValidIdent(%q) = true", s)
		}
	}
}

func TestQuoting(t *testing.T) {
	if got := quoteIdent(`we"ird`); got != `"we""ird"` {
		t.Errorf("quoteIdent = %s", got)
	}
	cases := map[string]string{"abc": "E'abc'", "it's": "E'it''s'", `back\slash`: `E'back\\slash'`, `\'; DROP TABLE x; --`: `E'\\''; DROP TABLE x; --'`}
	for in, want := range cases {
		got, ok := quoteLiteral(in)
		if !ok || got != want {
			t.Errorf("quoteLiteral(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := quoteLiteral("a\x00b"); ok {
		t.Error("NUL accepted")
	}
	if got, _ := typedLiteral("1", "integer"); got != "E'1'::integer" {
		t.Errorf("typedLiteral = %s", got)
	}
	if got, _ := typedLiteral("1", `integer; DROP TABLE x`); got != "E'1'" {
		t.Errorf("typedLiteral with odd type = %s", got)
	}
}

func TestParseType(t *testing.T) {
	good := map[string]string{
		"integer": "integer", "INT": "integer", "varchar(20)": "character varying(20)", "VARCHAR( 20 )": "character varying(20)",
		"character varying(255)": "character varying(255)", "numeric(10,2)": "numeric(10,2)", "decimal": "numeric",
		"text[]": "text[]", "integer[][]": "integer[][]", "timestamptz": "timestamp with time zone",
		"timestamp(3) with time zone": "timestamp(3) with time zone", "timestamptz(3)": "timestamp(3) with time zone",
		"serial": "serial", "bigserial": "bigserial", "uuid": "uuid", "jsonb": "jsonb", "bool": "boolean",
		"double precision": "double precision", "  Double   Precision ": "double precision", "time(6)": "time(6)",
	}
	for in, want := range good {
		got, ok := ParseType(in)
		if !ok || got != want {
			t.Errorf("ParseType(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	bad := []string{"", "int; DROP TABLE x", "integer)", "varchar(0)", "varchar(abc)", "numeric(5,6)", "integer(4)",
		"serial[]", "foo", "text COLLATE \"C\"", "regclass", "varchar(20", "int4 primary key", "timestamp(7)",
		"varchar(1,2)", "text[1]", "integer --", "pg_catalog.int4", "character varying(99999999)"}
	for _, in := range bad {
		if got, ok := ParseType(in); ok {
			t.Errorf("ParseType(%q) = %q, accepted", in, got)
		}
	}
}

func TestDefaultSQL(t *testing.T) {
	cases := []struct {
		v    any
		typ  string
		want string
		ok   bool
	}{
		{"now()", "timestamp with time zone", "now()", true},
		{" NOW() ", "timestamp with time zone", "now()", true},
		{"CURRENT_TIMESTAMP", "timestamp with time zone", "CURRENT_TIMESTAMP", true},
		{"gen_random_uuid()", "uuid", "gen_random_uuid()", true},
		{"hello", "text", "E'hello'::text", true},
		{"x'); DROP TABLE t; --", "text", "E'x''); DROP TABLE t; --'::text", true},
		{float64(42), "integer", "E'42'::integer", true},
		{true, "boolean", "E'true'::boolean", true},
		{nil, "text", "NULL", true},
		{map[string]any{"a": float64(1)}, "jsonb", `E'{"a":1}'::jsonb`, true},
		{"pg_sleep(10)", "text", "E'pg_sleep(10)'::text", true},
		{"a\x00", "text", "", false},
	}
	for _, c := range cases {
		got, ok := defaultSQL(c.v, c.typ)
		if ok != c.ok || got != c.want {
			t.Errorf("defaultSQL(%#v) = %q, %v; want %q, %v", c.v, got, ok, c.want, c.ok)
		}
	}
}

func TestParseFilter(t *testing.T) {
	cases := []struct {
		col, raw string
		want     Filter
		err      bool
	}{
		{"age", "gt.18", Filter{Column: "age", Op: OpGt, Values: []string{"18"}}, false},
		{"name", "eq.a.b", Filter{Column: "name", Op: OpEq, Values: []string{"a.b"}}, false},
		{"name", "EQ.x", Filter{Column: "name", Op: OpEq, Values: []string{"x"}}, false},
		{"name", "eq.", Filter{Column: "name", Op: OpEq, Values: []string{""}}, false},
		{"name", "like.*ab*", Filter{Column: "name", Op: OpLike, Values: []string{"%ab%"}}, false},
		{"name", "ilike.A%", Filter{Column: "name", Op: OpIlike, Values: []string{"A%"}}, false},
		{"d", "is.null", Filter{Column: "d", Op: OpIs, Is: "null"}, false},
		{"d", "is.not_null", Filter{Column: "d", Op: OpIs, Is: "not_null"}, false},
		{"d", "is.TRUE", Filter{Column: "d", Op: OpIs, Is: "true"}, false},
		{"id", "in.(1,2, 3)", Filter{Column: "id", Op: OpIn, Values: []string{"1", "2", "3"}}, false},
		{"id", `in.("a,b","c\"d", e )`, Filter{Column: "id", Op: OpIn, Values: []string{"a,b", `c"d`, "e"}}, false},
		{"id", "in.()", Filter{}, true},
		{"id", "in.(1,2", Filter{}, true},
		{"id", `in.("a)`, Filter{}, true},
		{"id", `in.("a"x)`, Filter{}, true},
		{"d", "is.maybe", Filter{}, true},
		{"d", "is.null;drop", Filter{}, true},
		{"name", "bogus", Filter{}, true},
		{"name", "regex.a", Filter{}, true},
		{"name", "eq;DROP.x", Filter{}, true},
		{"bad col", "eq.1", Filter{}, true},
		{`a"b`, "eq.1", Filter{}, true},
	}
	for _, c := range cases {
		got, err := ParseFilter(c.col, c.raw)
		if (err != nil) != c.err {
			t.Errorf("ParseFilter(%q, %q) error = %v, want error %v", c.col, c.raw, err, c.err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrBadFilter) {
				t.Errorf("ParseFilter(%q, %q) error %v is not invalid_filter", c.col, c.raw, err)
			}
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseFilter(%q, %q) = %+v, want %+v", c.col, c.raw, got, c.want)
		}
	}
}

func TestParseOrderBySelect(t *testing.T) {
	good := map[string][]OrderBy{
		"name":          {{Column: "name"}},
		"name:desc":     {{Column: "name", Desc: true}},
		"name DESC":     {{Column: "name", Desc: true}},
		"name.asc":      {{Column: "name"}},
		"a:asc, b desc": {{Column: "a"}, {Column: "b", Desc: true}},
	}
	for in, want := range good {
		got, err := ParseOrderBy(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseOrderBy(%q) = %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{"name; DROP TABLE t", "name:sideways", "1", "a,,b", "name desc nulls first", `"name"`, "(select 1)"} {
		if _, err := ParseOrderBy(in); err == nil {
			t.Errorf("ParseOrderBy(%q) accepted", in)
		}
	}
	if got, err := ParseSelect("a, b,a"); err != nil || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("ParseSelect = %v, %v", got, err)
	}
	for _, in := range []string{"a,count(*)", "a;drop", "a,", "*,a", "a b"} {
		if _, err := ParseSelect(in); err == nil {
			t.Errorf("ParseSelect(%q) accepted", in)
		}
	}
}

// FuzzParseFilter checks that the filter parser never panics and that what
// it accepts renders to SQL whose only caller text is inside literals.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"eq.1", "in.(a,\"b,c\")", "is.null", "like.*x*", "in.(", "in.(\"", `in.("\`, "eq.'; DROP TABLE t; --", "gt.\x00", "."} {
		f.Add("name", s)
	}
	f.Add("n", `in.(1,"2\"\\",3)`)
	f.Add("n", "is.not.null")
	f.Add("Name", "eq.1")
	f.Add("n", `ilike.\*_%'`)
	m := &Meta{Name: "t", Columns: []Column{{Name: "name", CastType: "text"}, {Name: "n", CastType: "integer"}}}
	f.Fuzz(func(t *testing.T, col, raw string) {
		flt, err := ParseFilter(col, raw)
		if err != nil {
			return
		}
		if !ValidIdent(flt.Column) {
			t.Fatalf("accepted column %q", flt.Column)
		}
		s, err := filterSQL(m, flt)
		if err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Kind.Status() >= 500 {
				t.Fatalf("filterSQL error %v is not a 4xx", err)
			}
			return
		}
		// Strip the escaped literals: what remains must be only our SQL.
		rest := stripLiterals(s)
		if strings.ContainsAny(rest, ";'") || strings.Contains(rest, "--") {
			t.Fatalf("caller text outside literals: %q", s)
		}
		// Round trip: the one identifier is the column, the literals decode
		// to the parsed values, in order.
		p, err := splitSQL(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.idents) != 1 || p.idents[0] != flt.Column {
			t.Fatalf("identifiers %q, want [%q]: %s", p.idents, flt.Column, s)
		}
		if len(p.literals) != len(flt.Values) {
			t.Fatalf("literals %q, want %q: %s", p.literals, flt.Values, s)
		}
		for i, v := range flt.Values {
			if p.literals[i] != v {
				t.Fatalf("literal %q, want %q: %s", p.literals[i], v, s)
			}
		}
		checkOwnText(t, p.rest, s)
	})
}

// stripLiterals removes E'...' literals (with ” and \\ escapes).
func stripLiterals(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 'E' && i+1 < len(s) && s[i+1] == '\'' {
			i += 2
			for i < len(s) {
				if s[i] == '\\' {
					i += 2
					continue
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						i += 2
						continue
					}
					break
				}
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func testMeta() *Meta {
	owner := "owner_id"
	return &Meta{OID: 42, Name: "items", PrimaryKeys: []string{"id"}, Columns: []Column{
		{Name: "id", CastType: "integer", DataType: "integer", IsNullable: "NO"},
		{Name: "name", CastType: "character varying", DataType: "character varying"},
		{Name: "price", CastType: "numeric", DataType: "numeric"},
		{Name: "at", CastType: "timestamp with time zone", DataType: "timestamp with time zone"},
		{Name: "doc", CastType: "jsonb", DataType: "jsonb"},
		{Name: "tags", CastType: "text[]", DataType: "ARRAY"},
		{Name: "owner_id", CastType: "uuid", DataType: "uuid"},
	}, Policy: Policy{Read: LevelOwner, OwnerColumn: &owner}}
}

func TestBuildList(t *testing.T) {
	m := testMeta()
	f, _ := ParseFilter("name", "eq.x'y")
	owner := "11111111-1111-1111-1111-111111111111"
	q, cols, err := buildList(m, ListParams{Page: 2, PageSize: 10, Filters: []Filter{f}, Select: []string{"id", "price"}}, &owner)
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 2 {
		t.Errorf("cols = %d", len(cols))
	}
	for _, want := range []string{
		`"name" = E'x''y'::character varying`,
		`"owner_id" = E'11111111-1111-1111-1111-111111111111'::uuid`,
		// One row more than the page says whether another follows.
		`ORDER BY src."id" ASC LIMIT 11 OFFSET 10)`,
		`"price"::text AS "price"`,
		// Formatted after the limit: the page is cut from bare columns;
		// the key (id) is read back from the rows.
		`(SELECT coalesce(json_agg(j), '[]'::json)::text FROM (SELECT "id", "price"::text AS "price" FROM (SELECT "id", "price" FROM "public"."items" AS src WHERE`,
		`LIMIT 11 OFFSET 10) src) j), NULL::text`,
	} {
		if !strings.Contains(q, want) {
			t.Errorf("query lacks %s:\n%s", want, q)
		}
	}
	// An order key left out of select (or not readable from the rows' JSON:
	// timestamps) is read by the query, from a CTE of the rows.
	for _, lp := range []ListParams{
		{Page: 2, PageSize: 10, Filters: []Filter{f}, Select: []string{"price"}},
		{Page: 2, PageSize: 10, Filters: []Filter{f}, Select: []string{"id", "price", "at"}, Order: []OrderBy{{Column: "at"}}},
	} {
		q, _, err = buildList(m, lp, &owner)
		if err != nil {
			t.Fatal(err)
		}
		key := `json_build_array(src."id"::text)`
		if len(lp.Order) > 0 {
			key = `json_build_array(src."at"::text, src."id"::text)`
		}
		for _, want := range []string{
			`WITH p AS MATERIALIZED (SELECT "` + lp.Select[0],
			`ORDER BY src."` + map[bool]string{true: "at", false: "id"}[len(lp.Order) > 0] + `" ASC`,
			` LIMIT 11 OFFSET 10) SELECT`,
			`FROM (SELECT * FROM p LIMIT 10) src) j)`,
			`(SELECT ` + key + `::text FROM (SELECT * FROM p OFFSET 9 LIMIT 1) src WHERE EXISTS (SELECT FROM p OFFSET 10))`,
		} {
			if !strings.Contains(q, want) {
				t.Errorf("query lacks %s:\n%s", want, q)
			}
		}
	}
	if _, _, err := buildList(m, ListParams{Page: 1, PageSize: 1, Order: []OrderBy{{Column: "nope"}}}, nil); err == nil ||
		err.Error() == "" || !strings.Contains(apperr.From(err).Message, "Column 'nope' does not exist in table 'items'") {
		t.Errorf("unknown order column: %v", err)
	}
	q, _, _ = buildList(m, ListParams{Page: 1, PageSize: 1}, nil)
	if !strings.Contains(q, "reltuples >= 100000") || !strings.Contains(q, "c.oid = 42") {
		t.Errorf("unfiltered count is not the cheap form:\n%s", q)
	}
}

func TestValueText(t *testing.T) {
	m := testMeta()
	cases := []struct {
		col, raw, want string
		null, err      bool
	}{
		{"id", `1`, "1", false, false},
		{"id", `"1"`, "1", false, false},
		{"id", `null`, "", true, false},
		{"doc", `{"a": [1, 2]}`, `{"a":[1,2]}`, false, false},
		{"doc", `"{\"a\":1}"`, `{"a":1}`, false, false},
		{"doc", `"plain"`, `"plain"`, false, false},
		{"doc", `3`, `3`, false, false},
		{"tags", `["a", "b\"c", null]`, `{"a","b\"c",NULL}`, false, false},
		{"name", `{"a":1}`, "", false, true},
		{"name", `[1]`, "", false, true},
	}
	for _, c := range cases {
		got, null, err := valueText(json.RawMessage(c.raw), m.column(c.col))
		if (err != nil) != c.err || null != c.null || got != c.want {
			t.Errorf("valueText(%s, %s) = %q, %v, %v", c.col, c.raw, got, null, err)
		}
	}
}

func TestBuildInsertBatch(t *testing.T) {
	m := testMeta()
	q, err := buildInsert(m, []map[string]json.RawMessage{{"name": json.RawMessage(`"a"`)}, {"id": json.RawMessage(`5`)}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(q, `("id", "name") VALUES (DEFAULT, E'a'::character varying), (E'5'::integer, DEFAULT)`) {
		t.Errorf("insert:\n%s", q)
	}
	q, err = buildInsert(m, []map[string]json.RawMessage{{}, {}})
	if err != nil || !strings.Contains(q, `("id") VALUES (DEFAULT), (DEFAULT)`) {
		t.Errorf("batch of empty rows: %v\n%s", err, q)
	}
	if _, err := buildInsert(m, []map[string]json.RawMessage{{"nope": json.RawMessage(`1`)}}); err == nil {
		t.Error("unknown column accepted")
	}
}

func TestPlanCreate(t *testing.T) {
	yes := true
	owner := "owner"
	in := CreateTableIn{Name: "things", Columns: []ColumnIn{
		{Name: "id", Type: "serial", PrimaryKey: &yes},
		{Name: "title", Type: "varchar(100)", Nullable: new(bool), Default: json.RawMessage(`"it's"`), Unique: true},
		{Name: "owner", Type: "uuid"},
	}, OwnerColumn: &owner, Access: &AccessIn{Read: ptr(LevelOwner)}}
	plan, err := planCreate(in)
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE TABLE \"public\".\"things\" (\n  \"id\" serial,\n  \"title\" character varying(100) NOT NULL DEFAULT E'it''s'::character varying(100) UNIQUE,\n  \"owner\" uuid,\n  PRIMARY KEY (\"id\")\n)"
	if plan.Statements[0] != want {
		t.Errorf("got\n%s\nwant\n%s", plan.Statements[0], want)
	}
	if plan.Policy.Read != LevelOwner || *plan.Policy.OwnerColumn != "owner" {
		t.Errorf("policy %+v", plan.Policy)
	}
	bad := []CreateTableIn{
		{Name: "x;drop", Columns: in.Columns},
		{Name: "t"},
		{Name: "t", Columns: []ColumnIn{{Name: "a", Type: "int"}, {Name: "a", Type: "int"}}},
		{Name: "t", Columns: []ColumnIn{{Name: "a", Type: "int; drop table x"}}},
		{Name: "t", Columns: []ColumnIn{{Name: "a b", Type: "int"}}},
		{Name: "t", Columns: []ColumnIn{{Name: "a", Type: "int", Default: json.RawMessage(`{"x":`)}}},
		{Name: "t", Columns: []ColumnIn{{Name: "a", Type: "int", IsForeignKey: true, ReferencesTable: ptr("u;x"), ReferencesColumn: ptr("id")}}},
		{Name: "t", Columns: []ColumnIn{{Name: "a", Type: "int"}}, Access: &AccessIn{Read: ptr(Level("everyone"))}},
		{Name: "t", Columns: []ColumnIn{{Name: "a", Type: "int"}}, Access: &AccessIn{Read: ptr(LevelOwner)}},
		{Name: "t", Columns: []ColumnIn{{Name: "a", Type: "int"}}, OwnerColumn: ptr("a")},
	}
	for i, b := range bad {
		if _, err := planCreate(b); err == nil {
			t.Errorf("bad create %d accepted", i)
		} else if apperr.From(err).Kind.Status() != 400 {
			t.Errorf("bad create %d: %v is not a 400", i, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// FuzzValueText: any JSON value for any column type either renders to
// escaped literals only or is refused with a 4xx; it never panics.
func FuzzValueText(f *testing.F) {
	for _, s := range []string{`1`, `"x'); DROP TABLE t; --"`, `{"a":[1,"\u0000"]}`, `[1,[2,"\""],null]`, `true`, `null`, `"\\"`, `[{"a":1}]`, `1e999`, `"{\"a\":1}"`} {
		f.Add(s)
	}
	m := testMeta()
	f.Fuzz(func(t *testing.T, raw string) {
		if !json.Valid([]byte(raw)) {
			return
		}
		for i := range m.Columns {
			c := &m.Columns[i]
			s, err := valueSQL(json.RawMessage(raw), c)
			if err != nil {
				if apperr.From(err).Kind.Status() >= 500 {
					t.Fatalf("%s: %v is a 5xx", c.Name, err)
				}
				continue
			}
			rest := stripLiterals(s)
			if rest != "NULL" && rest != "::"+c.CastType {
				t.Fatalf("%s: %q leaves %q outside literals", c.Name, s, rest)
			}
		}
	})
}

func TestAuthorize(t *testing.T) {
	m := testMeta()
	noOwner := &Meta{Name: "x"}
	user := identity.User(uuid.New(), "", false)
	su := identity.User(uuid.New(), "", true)
	cases := []struct {
		level  Level
		p      *identity.Principal
		m      *Meta
		err    error
		filter bool
	}{
		{LevelPublic, nil, m, nil, false},
		{LevelAuthenticated, nil, m, identity.ErrNotAuthenticated, false},
		{LevelAuthenticated, user, m, nil, false},
		{LevelOwner, nil, m, identity.ErrNotAuthenticated, false},
		{LevelOwner, user, m, nil, true},
		{LevelOwner, user, noOwner, identity.ErrNotEnoughPrivileges, false},
		{LevelOwner, su, noOwner, nil, false},
		{LevelSuperuser, nil, m, identity.ErrNotAuthenticated, false},
		{LevelSuperuser, user, m, identity.ErrNotEnoughPrivileges, false},
		{LevelSuperuser, su, m, nil, false},
		{Level("bogus"), user, m, identity.ErrNotEnoughPrivileges, false},
	}
	for _, c := range cases {
		owner, err := authorize(c.p, c.level, c.m)
		if !errors.Is(err, c.err) && !(err == nil && c.err == nil) {
			t.Errorf("%s %v: err %v, want %v", c.level, c.p, err, c.err)
		}
		if (owner != nil) != c.filter || (owner != nil && *owner != c.p.ID.String()) {
			t.Errorf("%s %v: owner filter %v", c.level, c.p, owner)
		}
	}
}

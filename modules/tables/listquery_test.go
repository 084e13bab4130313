package tables

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/selfdb/selfdb/platform/apperr"
)

// cursorMeta is a keyed table with nullable and NOT NULL order columns and
// an owner column.
func cursorMeta() *Meta {
	oc := "owner_id"
	return &Meta{OID: 7, Name: "t", PrimaryKeys: []string{"id"}, Columns: []Column{
		{Name: "id", CastType: "integer", IsNullable: "NO"},
		{Name: "n", CastType: "integer", IsNullable: "NO"},
		{Name: "opt", CastType: "text", IsNullable: "YES"},
		{Name: "ch", CastType: "character", IsNullable: "YES"},
		{Name: "bits", CastType: "bit[]", IsNullable: "YES"},
		{Name: "owner_id", CastType: "uuid", IsNullable: "YES"},
	}, Policy: Policy{OwnerColumn: &oc}}
}

func TestAfterSQL(t *testing.T) {
	s := func(v string) *string { return &v }
	cases := []struct {
		name  string
		order string
		vals  []*string
		want  []string
	}{
		{"primary key", "", []*string{s("5")}, []string{`src."id" > E'5'::integer`}},
		{"primary key descending", "id:desc", []*string{s("5")}, []string{`src."id" < E'5'::integer`}},
		{"NOT NULL column: a row comparison", "n", []*string{s("3"), s("5")},
			[]string{`(src."n", src."id") > (E'3'::integer, E'5'::integer)`}},
		{"mixed directions", "n:desc", []*string{s("3"), s("5")},
			[]string{`src."n" <= E'3'::integer AND (src."n" < E'3'::integer OR (src."n" = E'3'::integer AND src."id" > E'5'::integer))`}},
		{"descending all the way, nullable, no NULL: a row comparison", "opt:desc,id:desc", []*string{s("a"), s("5")},
			[]string{`(src."opt", src."id") < (E'a'::text, E'5'::integer)`}},
		{"ascending nullable: NULLs are a branch", "opt", []*string{s("a"), s("5")}, []string{
			`src."opt" >= E'a'::text AND (src."opt" > E'a'::text OR (src."opt" = E'a'::text AND src."id" > E'5'::integer))`,
			`src."opt" IS NULL`}},
		{"ascending at NULL: only NULLs follow", "opt", []*string{nil, s("5")},
			[]string{`src."opt" IS NULL AND src."id" > E'5'::integer`}},
		{"descending at NULL: every value follows", "opt:desc", []*string{nil, s("5")},
			[]string{`src."opt" IS NOT NULL`, `src."opt" IS NULL AND src."id" > E'5'::integer`}},
		{"descending past a value", "opt:desc", []*string{s("a"), s("5")},
			[]string{`src."opt" <= E'a'::text AND (src."opt" < E'a'::text OR (src."opt" = E'a'::text AND src."id" > E'5'::integer))`}},
		{"nullable second key", "n,opt", []*string{s("3"), s("a"), s("5")}, []string{
			`src."n" >= E'3'::integer AND (src."n" > E'3'::integer OR (src."n" = E'3'::integer AND ((src."opt" > E'a'::text OR src."opt" IS NULL) OR (src."opt" = E'a'::text AND src."id" > E'5'::integer))))`}},
		{"NULL second key ascending", "n,opt", []*string{s("3"), nil, s("5")}, []string{
			`src."n" >= E'3'::integer AND (src."n" > E'3'::integer OR (src."n" = E'3'::integer AND (src."opt" IS NULL AND src."id" > E'5'::integer)))`}},
		{"NULL second key descending", "n,opt:desc", []*string{s("3"), nil, s("5")}, []string{
			`src."n" >= E'3'::integer AND (src."n" > E'3'::integer OR (src."n" = E'3'::integer AND (src."opt" IS NOT NULL OR (src."opt" IS NULL AND src."id" > E'5'::integer))))`}},
		{"primary key inside order_by", "id,opt", []*string{s("5"), nil},
			[]string{`src."id" >= E'5'::integer AND (src."id" > E'5'::integer OR (src."id" = E'5'::integer AND FALSE))`}},
		{"char and bit keys keep their length", "ch,bits:desc", []*string{s("abc"), s(`{101}`), s("5")}, []string{
			`src."ch" >= E'abc'::bpchar AND (src."ch" > E'abc'::bpchar OR (src."ch" = E'abc'::bpchar AND (src."bits" < E'{101}'::bit varying[] OR (src."bits" = E'{101}'::bit varying[] AND src."id" > E'5'::integer))))`,
			`src."ch" IS NULL`}},
		{"quotes are escaped", "opt:desc,id:desc", []*string{s(`x'); DROP TABLE t; --\`), s("5")},
			[]string{`(src."opt", src."id") < (E'x''); DROP TABLE t; --\\'::text, E'5'::integer)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var order []OrderBy
			if c.order != "" {
				order, _ = ParseOrderBy(c.order)
			}
			pl, err := planList(cursorMeta(), ListParams{Order: order}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pl.afterSQL(c.vals)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("afterSQL =\n%q\nwant\n%q", got, c.want)
			}
		})
	}
	pl, _ := planList(cursorMeta(), ListParams{}, nil)
	for name, vals := range map[string][]*string{"no value": nil, "two values": {s("1"), s("2")}, "NULL for NOT NULL": {nil}, "NUL byte": {s("a\x00")}} {
		if _, err := pl.afterSQL(vals); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPageSQLWithCursor(t *testing.T) {
	order, _ := ParseOrderBy("opt")
	pl, _ := planList(cursorMeta(), ListParams{Order: order, Select: []string{"ch"}}, nil)
	after, _ := pl.afterSQL([]*string{nil, func() *string { v := "1"; return &v }()})
	q := pl.pageSQL("NULL::bigint", after, 10, 0)
	for _, want := range []string{
		// The order key is read even when select leaves it out.
		`WITH p AS MATERIALIZED (SELECT "ch", "opt", "id" FROM "public"."t" AS src WHERE src."opt" IS NULL AND src."id" > E'1'::integer ORDER BY src."opt" ASC, src."id" ASC LIMIT 11)`,
		`(SELECT "ch" FROM (SELECT * FROM p LIMIT 10) src) j)`,
		`json_build_array(src."opt"::text, src."id"::text)`,
	} {
		if !strings.Contains(q, want) {
			t.Errorf("query lacks %s:\n%s", want, q)
		}
	}
	order, _ = ParseOrderBy("opt:desc")
	pl, _ = planList(cursorMeta(), ListParams{Order: order}, nil)
	after, _ = pl.afterSQL([]*string{nil, func() *string { v := "1"; return &v }()})
	q = pl.pageSQL("NULL::bigint", after, 10, 0)
	if want := `FROM (SELECT * FROM ((SELECT "id", "n", "opt", "ch", "bits", "owner_id" FROM "public"."t" AS src WHERE src."opt" IS NOT NULL ORDER BY src."opt" DESC, src."id" ASC LIMIT 11) UNION ALL (SELECT "id", "n", "opt", "ch", "bits", "owner_id" FROM "public"."t" AS src WHERE src."opt" IS NULL AND src."id" > E'1'::integer ORDER BY src."opt" DESC, src."id" ASC LIMIT 11)) src ORDER BY src."opt" DESC, src."id" ASC LIMIT 11) src) j), NULL::text`; !strings.Contains(q, want) {
		t.Errorf("branches:\n%s", q)
	}
	// Without a primary key: no key, no extra row.
	m := cursorMeta()
	m.PrimaryKeys = nil
	pl, _ = planList(m, ListParams{}, nil)
	if q := pl.pageSQL("NULL::bigint", nil, 10, 20); !strings.HasSuffix(q, `ORDER BY src.ctid LIMIT 10 OFFSET 20) src) j), NULL::text`) || pl.keyed {
		t.Errorf("unkeyed: %s", q)
	}
}

func TestCursorsSealOpen(t *testing.T) {
	c := NewCursors("secret-secret-secret-secret-secret")
	owner := "11111111-1111-1111-1111-111111111111"
	order, _ := ParseOrderBy("opt:desc")
	f, _ := ParseFilter("n", "gt.1")
	lp := ListParams{Order: order, Filters: []Filter{f}, Select: []string{"id", "opt"}}
	pl, _ := planList(cursorMeta(), lp, &owner)
	v := "a'b"
	tok, err := c.seal(pl, 150, []*string{&v, nil})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(tok, ".+/=") {
		t.Errorf("cursor %q is not URL-safe or looks like a filter", tok)
	}
	st, err := c.open(tok, pl)
	if err != nil || st.Offset != 150 || len(st.Keys) != 2 || *st.Keys[0] != v || st.Keys[1] != nil {
		t.Fatalf("open = %+v, %v", st, err)
	}
	invalid := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrInvalidCursor) || apperr.From(err).Kind.Status() != 400 {
			t.Errorf("%s: %v", what, err)
		}
	}
	// Any change of any character is refused.
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range tok {
		b := []byte(tok)
		b[i] = alphabet[(strings.IndexByte(alphabet, b[i])+1)%len(alphabet)]
		if i == len(tok)-1 {
			// The last character may carry padding bits only: drop it instead.
			b = b[:i]
		}
		_, err := c.open(string(b), pl)
		invalid(fmt.Sprintf("changed at %d", i), err)
	}
	_, err = NewCursors("another-secret-another-secret-xx").open(tok, pl)
	invalid("another secret", err)
	for _, bad := range []string{"", "x", "!!!", strings.Repeat("A", maxCursorLen+1)} {
		_, err := c.open(bad, pl)
		invalid(bad, err)
	}
	// Any other query is refused with the mismatch message.
	other := "22222222-2222-2222-2222-222222222222"
	f2, _ := ParseFilter("n", "gt.2")
	asc, _ := ParseOrderBy("opt")
	m2 := cursorMeta()
	m2.OID = 8
	for name, alt := range map[string]*listPlan{
		"owner":       mustPlan(t, cursorMeta(), lp, &other),
		"no owner":    mustPlan(t, cursorMeta(), lp, nil),
		"filter":      mustPlan(t, cursorMeta(), ListParams{Order: order, Filters: []Filter{f2}, Select: lp.Select}, &owner),
		"order":       mustPlan(t, cursorMeta(), ListParams{Order: asc, Filters: lp.Filters, Select: lp.Select}, &owner),
		"select":      mustPlan(t, cursorMeta(), ListParams{Order: order, Filters: lp.Filters, Select: []string{"id"}}, &owner),
		"table (oid)": mustPlan(t, m2, lp, &owner),
	} {
		_, err := c.open(tok, alt)
		invalid(name, err)
		if err != nil && !strings.Contains(err.Error(), "another query") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Filters bind as a set: their order in the URL does not matter.
	f3, _ := ParseFilter("opt", "is.not_null")
	a := mustPlan(t, cursorMeta(), ListParams{Filters: []Filter{f, f3}}, nil)
	b := mustPlan(t, cursorMeta(), ListParams{Filters: []Filter{f3, f}}, nil)
	if a.binding() != b.binding() {
		t.Error("filter order changes the binding")
	}
}

func mustPlan(t *testing.T, m *Meta, lp ListParams, owner *string) *listPlan {
	t.Helper()
	pl, err := planList(m, lp, owner)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

func TestCountSQL(t *testing.T) {
	f, _ := ParseFilter("n", "gt.1")
	bare := mustPlan(t, cursorMeta(), ListParams{}, nil)
	owner := "11111111-1111-1111-1111-111111111111"
	filtered := mustPlan(t, cursorMeta(), ListParams{Filters: []Filter{f}}, nil)
	owned := mustPlan(t, cursorMeta(), ListParams{}, &owner)
	const exact, reltuples = `(SELECT count(*) FROM "public"."t" WHERE`, `CASE WHEN c.reltuples >= 100000`
	cases := []struct {
		pl       *listPlan
		mode     CountMode
		estimate int64
		needs    bool
		want     string
	}{
		{bare, CountDefault, 0, false, reltuples},
		{filtered, CountDefault, 0, false, exact},
		{owned, CountDefault, 0, false, exact},
		{bare, CountExact, 0, false, `(SELECT count(*) FROM "public"."t")`},
		{filtered, CountExact, 0, false, exact},
		{bare, CountEstimated, 0, false, reltuples},
		{filtered, CountEstimated, 99999, true, exact},
		{filtered, CountEstimated, 100000, true, "100000::bigint"},
		{owned, CountEstimated, 5000000, true, "5000000::bigint"},
		{bare, CountPlanned, 12, true, "12::bigint"},
		{filtered, CountPlanned, 12, true, "12::bigint"},
		{bare, CountNone, 0, false, "NULL::bigint"},
		{filtered, CountNone, 0, false, "NULL::bigint"},
	}
	for _, c := range cases {
		if got := c.pl.needsEstimate(c.mode); got != c.needs {
			t.Errorf("%q on %v: needsEstimate = %v", c.mode, c.pl.conds, got)
		}
		if got := c.pl.countSQL(c.mode, c.estimate); !strings.HasPrefix(got, c.want) && !strings.Contains(got, c.want) {
			t.Errorf("%q on %v (estimate %d): %s, want %s", c.mode, c.pl.conds, c.estimate, got, c.want)
		}
	}
	if got := filtered.estimateSQL(); got != `EXPLAIN (FORMAT JSON) SELECT 1 FROM "public"."t" WHERE "n" > E'1'::integer` {
		t.Errorf("estimateSQL = %s", got)
	}
}

func TestCountModeAndFilterShape(t *testing.T) {
	for in, want := range map[string]CountMode{"exact": CountExact, " Planned ": CountPlanned, "ESTIMATED": CountEstimated, "none": CountNone} {
		if got, ok := ParseCountMode(in); !ok || got != want {
			t.Errorf("ParseCountMode(%q) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "all", "exact,none", "eq.1"} {
		if _, ok := ParseCountMode(in); ok {
			t.Errorf("ParseCountMode(%q) accepted", in)
		}
	}
	for in, want := range map[string]bool{"eq.1": true, "IN.(1,2)": true, "is.null": true, "exact": false, "": false,
		"abc-_DEF": false, "between.1": false, "x.y": false} {
		if filterShaped(in) != want {
			t.Errorf("filterShaped(%q) = %v", in, !want)
		}
	}
}

func TestCutRows(t *testing.T) {
	order, _ := ParseOrderBy("opt:desc,n")
	pl := mustPlan(t, cursorMeta(), ListParams{Order: order, Select: []string{"id", "n", "opt"}}, nil)
	if !pl.keyInRows() {
		t.Fatal("opt, n and id are in the rows")
	}
	s := func(v string) *string { return &v }
	// json_agg's separator; strings and nested values that look like it.
	tricky := `{"id":1,"n":-3,"opt":"a, \n {\"x\": [1,2]}, \\"}`
	cases := []struct {
		rows  string
		limit int
		page  string
		key   []*string
	}{
		{`[]`, 2, `[]`, nil},
		{`[{"id":1,"n":1,"opt":null}]`, 1, `[{"id":1,"n":1,"opt":null}]`, nil},
		{`[{"id":1,"n":1,"opt":null}, ` + "\n" + ` {"id":2,"n":2,"opt":"b"}]`, 1, `[{"id":1,"n":1,"opt":null}]`, []*string{nil, s("1"), s("1")}},
		{"[" + tricky + ", \n {\"id\":2,\"n\":7,\"opt\":\"]},[\\u00e9\\\"\"}, \n {\"id\":3,\"n\":0,\"opt\":\"z\"}]", 2,
			"[" + tricky + ", \n {\"id\":2,\"n\":7,\"opt\":\"]},[\\u00e9\\\"\"}]", []*string{s(`]},[é"`), s("7"), s("2")}},
		{"[" + tricky + ", \n " + tricky + "]", 5, "[" + tricky + ", \n " + tricky + "]", nil},
		{"[" + tricky + ", \n {\"id\":9}]", 1, "[" + tricky + "]", []*string{s("a, \n {\"x\": [1,2]}, \\"), s("-3"), s("1")}},
	}
	for i, c := range cases {
		page, key, err := pl.cutRows(c.rows, c.limit)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if page != c.page || !reflect.DeepEqual(key, c.key) {
			t.Errorf("case %d: cutRows = %q, %v; want %q, %v", i, page, key, c.page, c.key)
		}
		if !json.Valid([]byte(page)) {
			t.Errorf("case %d: %q is not JSON", i, page)
		}
	}
	if _, _, err := pl.cutRows(`[{"id":1}, `+"\n"+` {"id":2}]`, 1); err == nil {
		t.Error("a row without its order key was accepted")
	}
	// Not readable from the rows: an order key left out of select, an array.
	for _, lp := range []ListParams{{Order: order, Select: []string{"id", "n"}}, {Order: []OrderBy{{Column: "bits"}}}} {
		if mustPlan(t, cursorMeta(), lp, nil).keyInRows() {
			t.Errorf("%+v: keyInRows", lp)
		}
	}
}

func TestCutRowsRefusesWhatJSONAggDoesNotMake(t *testing.T) {
	order, _ := ParseOrderBy("opt")
	pl := mustPlan(t, cursorMeta(), ListParams{Order: order, Select: []string{"id", "opt"}}, nil)
	for _, rows := range []string{`["unterminated, {"id":1}]`, `[1, 2]`, `[{"id" 1,"opt":"a"}, {}]`, `[{"id":1,"opt":"}, {}]`} {
		if _, _, err := pl.cutRows(rows, 1); err == nil {
			t.Errorf("cutRows(%q) accepted", rows)
		}
	}
}

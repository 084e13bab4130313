package tables_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/selfdb/selfdb/platform/testkit"
)

// itemsTable is a table of every interesting type that any user may read,
// insert, update and delete (update and delete chosen explicitly: by default
// a table without an owner column leaves them to superusers).
func itemsTable(t *testing.T, w *world) {
	t.Helper()
	w.create(t, map[string]any{"name": "items", "access": map[string]any{"update": "authenticated", "delete": "authenticated"}, "columns": []map[string]any{
		{"name": "id", "type": "serial", "primary_key": true},
		{"name": "name", "type": "varchar(10)", "nullable": false},
		{"name": "code", "type": "text", "unique": true},
		{"name": "price", "type": "numeric(10,2)"},
		{"name": "at", "type": "timestamptz"},
		{"name": "doc", "type": "jsonb"},
		{"name": "tags", "type": "text[]"},
		{"name": "flag", "type": "boolean", "default": false},
		{"name": "uid", "type": "uuid"},
	}})
}

func page(t *testing.T, r *testkit.Response) ([]map[string]any, map[string]any) {
	t.Helper()
	var p struct {
		Data     []map[string]any `json:"data"`
		Metadata map[string]any   `json:"metadata"`
	}
	r.JSON(t, &p)
	return p.Data, p.Metadata
}

func TestRowsAndTypes(t *testing.T) {
	w := start(t)
	itemsTable(t, w)
	base := "/api/v1/tables/items/data"
	tok := w.alice.Token

	r := w.do(t, "POST", base, tok, map[string]any{"id": "7", "name": "seven", "code": "c7", "price": "12.50",
		"at": "2024-05-01T10:00:00+02:00", "doc": map[string]any{"a": []any{1, "x"}}, "tags": []any{"x", "y\"z"}, "flag": "true"}).Expect(t, 200)
	row := r.Map(t)
	if row["id"] != float64(7) || row["price"] != "12.50" || row["at"] != "2024-05-01T08:00:00.000000Z" || row["flag"] != true {
		t.Errorf("coerced row %s", r.Body)
	}
	if doc, ok := row["doc"].(map[string]any); !ok || doc["a"].([]any)[1] != "x" {
		t.Errorf("jsonb not nested: %s", r.Body)
	}
	if tags, ok := row["tags"].([]any); !ok || len(tags) != 2 || tags[1] != `y"z` {
		t.Errorf("array: %s", r.Body)
	}
	if _, err := time.Parse(time.RFC3339, row["at"].(string)); err != nil {
		t.Errorf("timestamp not RFC 3339: %v", err)
	}

	t.Run("batch insert", func(t *testing.T) {
		r := w.do(t, "POST", base, tok, []map[string]any{{"name": "a", "code": "ca", "price": 1}, {"name": "b", "code": "cb"}, {"name": "c"}}).Expect(t, 200)
		var rows []map[string]any
		r.JSON(t, &rows)
		if len(rows) != 3 || rows[0]["price"] != "1.00" || rows[2]["code"] != nil || rows[1]["flag"] != false {
			t.Errorf("batch rows %s", r.Body)
		}
	})
	t.Run("batch is all or nothing", func(t *testing.T) {
		before := w.count(t, "SELECT count(*) FROM public.items")
		r := w.do(t, "POST", base, tok, []map[string]any{{"name": "ok1"}, {"name": "this name is too long"}}).Expect(t, 400)
		if !strings.Contains(string(r.Body), "too long") {
			t.Errorf("message %s", r.Body)
		}
		if w.count(t, "SELECT count(*) FROM public.items") != before {
			t.Error("a failed batch inserted rows")
		}
	})

	t.Run("bad values are 4xx with a readable message", func(t *testing.T) {
		w.do(t, "POST", base, tok, map[string]any{"name": "dup", "code": "dupe"}).Expect(t, 200)
		cases := []struct {
			name   string
			body   any
			status int
			says   string
		}{
			{"wrong type", map[string]any{"name": "x", "price": "abc"}, 400, "invalid input syntax"},
			{"bad integer key", map[string]any{"id": "1.5x", "name": "x"}, 400, "invalid input syntax"},
			{"too long", map[string]any{"name": "01234567890"}, 400, "too long"},
			{"not null", map[string]any{"code": "nn"}, 400, "null value"},
			{"explicit null in not null", map[string]any{"name": nil}, 400, "null value"},
			{"unique", map[string]any{"name": "x", "code": "dupe"}, 409, "duplicate key"},
			{"bad uuid", map[string]any{"name": "x", "uid": "not-a-uuid"}, 400, "uuid"},
			{"bad timestamp", map[string]any{"name": "x", "at": "yesterday-ish"}, 400, "timestamp"},
			{"object for text", map[string]any{"name": map[string]any{"a": 1}}, 400, "objects and arrays"},
			{"NUL byte", map[string]any{"name": "a\x00b"}, 400, "NUL"},
			{"unknown column", map[string]any{"name": "x", "nope": 1}, 400, "Column 'nope' does not exist in table 'items'"},
			{"huge number", map[string]any{"name": "x", "price": 1e300}, 400, "numeric"},
			{"not JSON", "{", 422, ""},
			{"not an object", `"text"`, 422, ""},
			{"empty batch", []any{}, 422, ""},
			{"array of non-objects", []any{1, 2}, 422, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := w.do(t, "POST", base, tok, c.body).Expect(t, c.status)
				if c.says != "" && !strings.Contains(strings.ToLower(string(r.Body)), strings.ToLower(c.says)) {
					t.Errorf("message lacks %q: %s", c.says, r.Body)
				}
			})
		}
		r := w.do(t, "PUT", base+"/notanumber?id_column=id", tok, map[string]any{"name": "x"}).Expect(t, 400)
		if strings.Contains(string(r.Body), "Internal") {
			t.Error(string(r.Body))
		}
		w.do(t, "PUT", base+"/7?id_column=id", tok, map[string]any{"name": "01234567890"}).Expect(t, 400)
		w.do(t, "PUT", base+"/7?id_column=id", tok, map[string]any{"code": "dupe"}).Expect(t, 409)
		w.do(t, "DELETE", base+"/abc?id_column=id", tok, nil).Expect(t, 400)
	})

	t.Run("update and delete", func(t *testing.T) {
		w.do(t, "PUT", base+"/7", tok, map[string]any{"name": "x"}).Expect(t, 422)
		w.do(t, "PUT", base+"/7?id_column=id", tok, map[string]any{}).Expect(t, 400)
		w.do(t, "PUT", base+"/7?id_column=id", tok, nil).Expect(t, 400)
		w.do(t, "PUT", base+"/7?id_column=nope", tok, map[string]any{"name": "x"}).Expect(t, 400)
		r := w.do(t, "PUT", base+"/7?id_column=id", tok, map[string]any{"name": "renamed", "doc": `{"b":2}`}).Expect(t, 200)
		if m := r.Map(t); m["name"] != "renamed" || m["doc"].(map[string]any)["b"] != float64(2) {
			t.Errorf("update %s", r.Body)
		}
		r = w.do(t, "PUT", base+"/9999?id_column=id", tok, map[string]any{"name": "x"}).Expect(t, 404)
		if r.Map(t)["detail"] != "Row with id='9999' not found in table 'items'" {
			t.Errorf("404 %s", r.Body)
		}
		w.do(t, "DELETE", base+"/9999?id_column=id", tok, nil).Expect(t, 404)
		w.do(t, "DELETE", base+"/7", tok, nil).Expect(t, 422)
		r = w.do(t, "DELETE", base+"/c7?id_column=code", tok, nil).Expect(t, 200)
		if m := r.Map(t); m["message"] != "Row with code='c7' deleted successfully" || m["deleted_data"].(map[string]any)["id"] != float64(7) {
			t.Errorf("delete %s", r.Body)
		}
	})

	t.Run("reading", func(t *testing.T) {
		w.sql(t, `DELETE FROM public.items`)
		w.sql(t, `INSERT INTO public.items (id, name, code, price, flag) VALUES
			(1, 'apple', 'A1', 1.5, true), (2, 'banana', 'b_2', 2.25, false), (3, 'cherry', NULL, 10, true),
			(4, 'Apple pie', 'A%', NULL, false), (5, 'date', 'd5', 3, true)`)
		get := func(query string, status int) ([]map[string]any, map[string]any) {
			t.Helper()
			r := w.do(t, "GET", base+query, tok, nil).Expect(t, status)
			if status != 200 {
				return nil, r.Map(t)
			}
			return page(t, r)
		}
		ids := func(rows []map[string]any) []int {
			out := []int{}
			for _, r := range rows {
				out = append(out, int(r["id"].(float64)))
			}
			return out
		}
		eq := func(name string, got, want []int) {
			t.Helper()
			if len(got) != len(want) {
				t.Errorf("%s: ids %v, want %v", name, got, want)
				return
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s: ids %v, want %v", name, got, want)
					return
				}
			}
		}
		rows, meta := get("", 200)
		eq("default order by primary key", ids(rows), []int{1, 2, 3, 4, 5})
		if meta["total_count"] != float64(5) || meta["page"] != float64(1) || meta["page_size"] != float64(50) || meta["total_pages"] != float64(1) {
			t.Errorf("metadata %v", meta)
		}
		if cols := meta["columns"].([]any); len(cols) != 9 || cols[1].(map[string]any)["column_name"] != "name" || cols[1].(map[string]any)["is_nullable"] != "NO" {
			t.Errorf("metadata columns %v", cols)
		}
		rows, meta = get("?page=2&page_size=2", 200)
		eq("paging", ids(rows), []int{3, 4})
		if meta["total_pages"] != float64(3) {
			t.Errorf("total_pages %v", meta["total_pages"])
		}
		rows, _ = get("?order_by=price:desc", 200)
		eq("order_by col:desc (nulls first)", ids(rows), []int{4, 3, 5, 2, 1})
		rows, _ = get("?order_by="+q("name desc"), 200)
		eq("order_by 'col desc'", ids(rows), []int{5, 3, 2, 1, 4})
		rows, _ = get("?order_by=name", 200)
		eq("order_by col", ids(rows), []int{4, 1, 2, 3, 5})
		rows, _ = get("?filter_column=name&filter_value=APP", 200)
		eq("filter_value substring", ids(rows), []int{1, 4})
		rows, _ = get("?filter_column=code&filter_value="+q("%"), 200)
		eq("filter_value % is literal", ids(rows), []int{4})
		rows, _ = get("?filter_column=price&filter_value=.5", 200)
		eq("filter_value on numeric as text", ids(rows), []int{1})
		rows, _ = get("?id=eq.2", 200)
		eq("eq", ids(rows), []int{2})
		rows, _ = get("?id=neq.2", 200)
		eq("neq", ids(rows), []int{1, 3, 4, 5})
		rows, _ = get("?price=gt.2.25", 200)
		eq("gt numeric", ids(rows), []int{3, 5})
		rows, _ = get("?price=gte.2.25&price=lt.10", 200)
		eq("gte and lt", ids(rows), []int{2, 5})
		rows, _ = get("?id=lte.2", 200)
		eq("lte", ids(rows), []int{1, 2})
		rows, _ = get("?name=like.*pp*", 200)
		eq("like", ids(rows), []int{1, 4})
		rows, _ = get("?name=like.a*", 200)
		eq("like is case-sensitive", ids(rows), []int{1})
		rows, _ = get("?name=ilike.app*", 200)
		eq("ilike", ids(rows), []int{1, 4})
		rows, _ = get("?code=is.null", 200)
		eq("is null", ids(rows), []int{3})
		rows, _ = get("?flag=is.true", 200)
		eq("is true", ids(rows), []int{1, 3, 5})
		rows, _ = get("?id=in.(1,3,5)&flag=eq.true", 200)
		eq("in + eq bool", ids(rows), []int{1, 3, 5})
		rows, meta = get("?select=id,name&name=eq.date", 200)
		if len(rows) != 1 || len(rows[0]) != 2 || rows[0]["name"] != "date" || len(meta["columns"].([]any)) != 2 {
			t.Errorf("select: %v %v", rows, meta)
		}
		rows, meta = get("?flag=eq.false&page_size=1", 200)
		if meta["total_count"] != float64(2) || len(rows) != 1 {
			t.Errorf("filtered total %v", meta)
		}

		for _, bad := range []struct{ q, says string }{
			{"?nope=eq.1", "Column 'nope' does not exist in table 'items'"},
			{"?order_by=nope", "Column 'nope' does not exist in table 'items'"},
			{"?select=id,nope", "Column 'nope' does not exist in table 'items'"},
			{"?filter_column=nope&filter_value=x", "Column 'nope' does not exist in table 'items'"},
			{"?id=eq.abc", "invalid input syntax"},
			{"?id=between.1", "Unknown filter operator"},
			{"?id=1", "Invalid filter"},
			{"?flag=is.maybe", "Invalid value"},
			{"?order_by=id:sideways", "direction"},
		} {
			_, m := get(bad.q, 400)
			if !strings.Contains(m["detail"].(string), bad.says) {
				t.Errorf("%s: detail %v, want %q", bad.q, m["detail"], bad.says)
			}
		}
		for _, bad := range []string{"?page=0", "?page=x", "?page_size=0", "?page_size=1001", "?page_size=abc"} {
			_, m := get(bad, 422)
			if m["code"] != "validation_failed" {
				t.Errorf("%s: %v", bad, m)
			}
		}
	})

	t.Run("describe", func(t *testing.T) {
		r := w.do(t, "GET", "/api/v1/tables/items", tok, nil).Expect(t, 200)
		var d map[string]any
		r.JSON(t, &d)
		if d["name"] != "items" || d["row_count"] == nil || d["primary_keys"].([]any)[0] != "id" || d["owner_column"] != nil {
			t.Errorf("detail %s", r.Body)
		}
		if msg := testkit.Match(map[string]any{"access": map[string]any{"read": "authenticated", "insert": "authenticated", "update": "authenticated", "delete": "authenticated"}}, d); msg != "" {
			t.Error(msg)
		}
		cols := d["columns"].([]any)
		name := cols[1].(map[string]any)
		if name["column_name"] != "name" || name["data_type"] != "character varying" || name["character_maximum_length"] != float64(10) || name["is_nullable"] != "NO" {
			t.Errorf("column %v", name)
		}
		if _, ok := name["cast_type"]; ok {
			t.Error("internal cast_type leaked")
		}
		var idx []any = d["indexes"].([]any)
		if len(idx) < 2 {
			t.Errorf("indexes %v", idx)
		}
		var st []map[string]any
		w.do(t, "GET", "/api/v1/tables/items/structure", tok, nil).Expect(t, 200).JSON(t, &st)
		if len(st) != 9 || st[0]["column_name"] != "id" {
			t.Errorf("structure %v", st)
		}
		w.do(t, "GET", "/api/v1/tables/nope", tok, nil).Expect(t, 404)
		w.do(t, "GET", "/api/v1/tables/nope/data", tok, nil).Expect(t, 404)
		w.do(t, "POST", "/api/v1/tables/nope/data", tok, map[string]any{"a": 1}).Expect(t, 404)
		// SelfDB's own tables are not user tables.
		w.do(t, "GET", "/api/v1/tables/users/data", w.su.Token, nil).Expect(t, 404)
		w.do(t, "GET", "/api/v1/tables/table_policies", w.su.Token, nil).Expect(t, 404)
	})
}

func TestRowCountEstimateOnBigTables(t *testing.T) {
	w := start(t)
	w.create(t, map[string]any{"name": "big", "access": map[string]any{"read": "public"}, "columns": []map[string]any{{"name": "id", "type": "int", "primary_key": true}}})
	w.sql(t, `INSERT INTO public.big SELECT g FROM generate_series(1, 1000) g`)
	var d map[string]any
	w.do(t, "GET", "/api/v1/tables/big", "", nil).Expect(t, 200).JSON(t, &d)
	if d["row_count"] != float64(1000) || d["row_count_estimated"] != false {
		t.Errorf("small table count %v %v", d["row_count"], d["row_count_estimated"])
	}
	// Pretend the table is huge: the planner's estimate is used.
	w.sql(t, `UPDATE pg_class SET reltuples = 5000000 WHERE oid = 'public.big'::regclass`)
	w.do(t, "GET", "/api/v1/tables/big", "", nil).Expect(t, 200).JSON(t, &d)
	if d["row_count"] != float64(5000000) || d["row_count_estimated"] != true {
		t.Errorf("big table count %v %v", d["row_count"], d["row_count_estimated"])
	}
	_, meta := page(t, w.do(t, "GET", "/api/v1/tables/big/data?page_size=1", "", nil).Expect(t, 200))
	if meta["total_count"] != float64(5000000) {
		t.Errorf("unfiltered total %v", meta["total_count"])
	}
	_, meta = page(t, w.do(t, "GET", "/api/v1/tables/big/data?page_size=1&id=lte.10", "", nil).Expect(t, 200))
	if meta["total_count"] != float64(10) {
		t.Errorf("filtered total %v", meta["total_count"])
	}
	_ = json.Valid
}

// TestTablesMadeThroughSQL: odd names from the catalog are quoted, a table
// without a primary key pages in physical order, and the default policy
// applies.
func TestTablesMadeThroughSQL(t *testing.T) {
	w := start(t)
	w.sql(t, `CREATE TABLE public."Mixed" ("my col" text, "we""ird" int, "x$1" text, n numeric, ts timestamp)`)
	w.sql(t, `INSERT INTO public."Mixed" VALUES ('a', 1, 'p', 2.50, '2024-01-02 03:04:05')`)
	w.do(t, "GET", "/api/v1/tables/Mixed/data", "", nil).Expect(t, 401)
	r := w.do(t, "POST", "/api/v1/tables/Mixed/data", w.alice.Token, map[string]any{"my col": "b", `we"ird`: "2", "x$1": "'; DROP TABLE public.\"Mixed\"; --"}).Expect(t, 200)
	if m := r.Map(t); m[`we"ird`] != float64(2) || m["x$1"] != `'; DROP TABLE public."Mixed"; --` {
		t.Errorf("insert %s", r.Body)
	}
	rows, meta := page(t, w.do(t, "GET", "/api/v1/tables/Mixed/data", w.alice.Token, nil).Expect(t, 200))
	if len(rows) != 2 || rows[0]["my col"] != "a" || rows[0]["n"] != "2.50" || rows[0]["ts"] != "2024-01-02T03:04:05.000000Z" || meta["total_count"] != float64(2) {
		t.Errorf("rows %v meta %v", rows, meta)
	}
	rows, _ = page(t, w.do(t, "GET", "/api/v1/tables/Mixed/data?order_by=n:asc&select=n", w.alice.Token, nil).Expect(t, 200))
	if len(rows) != 2 || rows[0]["n"] != "2.50" || len(rows[0]) != 1 {
		t.Errorf("ordered %v", rows)
	}
	var d map[string]any
	w.do(t, "GET", "/api/v1/tables/Mixed", w.alice.Token, nil).Expect(t, 200).JSON(t, &d)
	if d["access"].(map[string]any)["read"] != "authenticated" || len(d["primary_keys"].([]any)) != 0 {
		t.Errorf("detail %v", d)
	}
	w.do(t, "GET", "/api/v1/tables/mixed", w.alice.Token, nil).Expect(t, 404)
}

// TestZeroColumnTable: a table made through SQL without columns answers 4xx
// or empty results, never 5xx.
func TestZeroColumnTable(t *testing.T) {
	w := start(t)
	w.sql(t, `CREATE TABLE public.nothing ()`)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/tables/nothing", nil},
		{"GET", "/api/v1/tables/nothing/data", nil},
		{"POST", "/api/v1/tables/nothing/data", map[string]any{}},
		{"POST", "/api/v1/tables/nothing/data", []any{map[string]any{}, map[string]any{}}},
		{"GET", "/api/v1/tables/nothing/sql", nil},
	} {
		if r := w.do(t, c.method, c.path, w.su.Token, c.body); r.Status >= 500 {
			t.Errorf("%s %s: %s", c.method, c.path, r)
		}
	}
}

// A value for a char(n) or bit(n) column keeps all its characters: an
// explicit cast to bare `character` (char(1)) used to cut "abc" to "a"
// without a word; a value over the column's length is refused, not cut.
func TestFixedLengthTypesKeepTheirValues(t *testing.T) {
	w := start(t)
	w.create(t, map[string]any{"name": "fixed", "access": map[string]any{"read": "authenticated", "insert": "authenticated"}, "columns": []map[string]any{
		{"name": "id", "type": "serial", "primary_key": true},
		{"name": "code", "type": "char(3)"},
		{"name": "codes", "type": "char(2)[]"},
	}})
	w.sql(t, `ALTER TABLE public.fixed ADD COLUMN flags bit(4)`) // not on the API's type list; a SQL user may have it
	w.Sync(t)
	r := w.do(t, "POST", "/api/v1/tables/fixed/data", w.alice.Token, map[string]any{"code": "abc", "flags": "1010", "codes": []string{"xy", "zw"}}).Expect(t, 200).Map(t)
	if r["code"] != "abc" || r["flags"] != "1010" || fmt.Sprint(r["codes"]) != "[xy zw]" {
		t.Fatalf("stored %v", r)
	}
	got := w.do(t, "GET", "/api/v1/tables/fixed/data?code=eq.abc", w.alice.Token, nil).Expect(t, 200).Map(t)
	if n := len(got["data"].([]any)); n != 1 {
		t.Fatalf("filter code=eq.abc found %d rows", n)
	}
	w.do(t, "POST", "/api/v1/tables/fixed/data", w.alice.Token, map[string]any{"code": "abcd"}).Expect(t, 400)
	w.do(t, "POST", "/api/v1/tables/fixed/data", w.alice.Token, map[string]any{"flags": "10101"}).Expect(t, 400)
}

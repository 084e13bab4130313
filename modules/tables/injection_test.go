package tables_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestInjection sends SQL in every place a caller's string reaches: each is
// refused with 400/422 (or, for values, treated as data) and the database is
// unchanged.
func TestInjection(t *testing.T) {
	w := start(t)
	su := w.su.Token
	w.sql(t, `CREATE TABLE public.canary (id int PRIMARY KEY, note text); INSERT INTO public.canary VALUES (1, 'alive')`)
	w.create(t, map[string]any{"name": "target", "access": map[string]any{"read": "public", "insert": "public", "update": "public", "delete": "public"},
		"columns": []map[string]any{{"name": "id", "type": "int", "primary_key": true}, {"name": "name", "type": "text"}}})
	w.sql(t, `INSERT INTO public.target VALUES (1, 'one')`)
	tables := func() string {
		var s string
		if err := w.DB.DB.QueryRow(`SELECT string_agg(table_schema || '.' || table_name || ':' || column_name || ':' || data_type, ',' ORDER BY 1)
			FROM information_schema.columns WHERE table_schema IN ('public', 'selfdb')`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := tables()
	const drop = `x"; DROP TABLE public.canary; --`
	const dropLit = `0'); DROP TABLE public.canary; --`
	esc := url.PathEscape
	cases := []struct {
		name, method, path string
		body               any
		status             []int
	}{
		{"table in path", "GET", "/api/v1/tables/" + esc(drop) + "/data", nil, []int{400}},
		{"table in path quote", "GET", "/api/v1/tables/" + esc(`target"`), nil, []int{400}},
		{"table in path drop", "DELETE", "/api/v1/tables/" + esc("canary; DROP TABLE canary"), nil, []int{400}},
		{"create table name", "POST", "/api/v1/tables", map[string]any{"name": drop, "columns": []map[string]any{{"name": "a", "type": "int"}}}, []int{400}},
		{"create column name", "POST", "/api/v1/tables", map[string]any{"name": "t1", "columns": []map[string]any{{"name": drop, "type": "int"}}}, []int{400}},
		{"create type", "POST", "/api/v1/tables", map[string]any{"name": "t1", "columns": []map[string]any{{"name": "a", "type": "int); DROP TABLE public.canary; --"}}}, []int{400}},
		{"create type comment", "POST", "/api/v1/tables", map[string]any{"name": "t1", "columns": []map[string]any{{"name": "a", "type": "int --"}}}, []int{400}},
		{"create default", "POST", "/api/v1/tables", map[string]any{"name": "t1", "columns": []map[string]any{{"name": "a", "type": "int", "default": dropLit}}}, []int{400}},
		{"create default expression", "POST", "/api/v1/tables", map[string]any{"name": "t1", "columns": []map[string]any{{"name": "a", "type": "int", "default": "(SELECT 1)"}}}, []int{400}},
		{"create fk table", "POST", "/api/v1/tables", map[string]any{"name": "t1", "columns": []map[string]any{{"name": "a", "type": "int", "is_foreign_key": true, "references_table": drop, "references_column": "id"}}}, []int{400}},
		{"create fk column", "POST", "/api/v1/tables", map[string]any{"name": "t1", "columns": []map[string]any{{"name": "a", "type": "int", "is_foreign_key": true, "references_table": "canary", "references_column": drop}}}, []int{400}},
		{"create owner column", "POST", "/api/v1/tables", map[string]any{"name": "t1", "owner_column": drop, "columns": []map[string]any{{"name": "a", "type": "int"}}}, []int{400}},
		{"create access level", "POST", "/api/v1/tables", map[string]any{"name": "t1", "access": map[string]any{"read": "public'; --"}, "columns": []map[string]any{{"name": "a", "type": "int"}}}, []int{400}},
		{"add column name", "POST", "/api/v1/tables/target/columns", map[string]any{"column_name": drop, "data_type": "text"}, []int{400}},
		{"add column type", "POST", "/api/v1/tables/target/columns", map[string]any{"column_name": "c", "data_type": "text; DROP TABLE public.canary"}, []int{400}},
		{"add column default", "POST", "/api/v1/tables/target/columns", map[string]any{"column_name": "c", "data_type": "int", "column_default": dropLit}, []int{400}},
		{"update column name", "PUT", "/api/v1/tables/target/columns/name", map[string]any{"new_name": drop}, []int{400}},
		{"update column type", "PUT", "/api/v1/tables/target/columns/name", map[string]any{"data_type": "text USING 1; DROP TABLE public.canary; --"}, []int{400}},
		{"update column default", "PUT", "/api/v1/tables/target/columns/id", map[string]any{"column_default": dropLit}, []int{400}},
		{"column in path", "PUT", "/api/v1/tables/target/columns/" + esc(drop), map[string]any{"data_type": "text"}, []int{400}},
		{"rename table", "PUT", "/api/v1/tables/target", map[string]any{"new_name": drop}, []int{400}},
		{"policy owner column", "PUT", "/api/v1/tables/target", map[string]any{"owner_column": drop}, []int{400}},
		{"order_by", "GET", "/api/v1/tables/target/data?order_by=" + q("id; DROP TABLE public.canary"), nil, []int{400}},
		{"order_by subquery", "GET", "/api/v1/tables/target/data?order_by=" + q("(SELECT 1)"), nil, []int{400}},
		{"order_by direction", "GET", "/api/v1/tables/target/data?order_by=" + q("id:desc; DROP TABLE public.canary"), nil, []int{400}},
		{"filter column", "GET", "/api/v1/tables/target/data?" + q(drop) + "=eq.1", nil, []int{400}},
		{"filter operator", "GET", "/api/v1/tables/target/data?id=" + q("eq;DROP TABLE public.canary.1"), nil, []int{400}},
		{"filter value on integer", "GET", "/api/v1/tables/target/data?id=" + q("eq."+dropLit), nil, []int{400}},
		{"filter in list", "GET", "/api/v1/tables/target/data?id=" + q("in.(1);DROP TABLE public.canary;--"), nil, []int{400}},
		{"filter is", "GET", "/api/v1/tables/target/data?id=" + q("is.null; DROP TABLE public.canary"), nil, []int{400}},
		{"select item", "GET", "/api/v1/tables/target/data?select=" + q("id,(SELECT 1)"), nil, []int{400}},
		{"select item function", "GET", "/api/v1/tables/target/data?select=" + q("pg_sleep(5)"), nil, []int{400}},
		{"filter_column", "GET", "/api/v1/tables/target/data?filter_column=" + q(drop) + "&filter_value=x", nil, []int{400}},
		{"id_column", "PUT", "/api/v1/tables/target/data/1?id_column=" + q(drop), map[string]any{"name": "x"}, []int{400}},
		{"row id", "DELETE", "/api/v1/tables/target/data/" + esc(dropLit) + "?id_column=id", nil, []int{400}},
		{"insert key", "POST", "/api/v1/tables/target/data", map[string]any{drop: 1}, []int{400}},
		{"update key", "PUT", "/api/v1/tables/target/data/1?id_column=id", map[string]any{drop: 1}, []int{400}},
		{"insert value on integer", "POST", "/api/v1/tables/target/data", map[string]any{"id": dropLit}, []int{400}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := w.do(t, c.method, c.path, su, c.body)
			ok := false
			for _, s := range c.status {
				ok = ok || r.Status == s
			}
			if !ok {
				t.Fatalf("status %d, want %v; body %s", r.Status, c.status, r.Body)
			}
		})
	}
	// Values are data: a text value full of SQL is stored and matched as text.
	t.Run("values are data", func(t *testing.T) {
		r := w.do(t, "GET", "/api/v1/tables/target/data?name="+q("eq."+dropLit), "", nil).Expect(t, 200)
		if rows, _ := page(t, r); len(rows) != 0 {
			t.Errorf("rows %v", rows)
		}
		w.do(t, "GET", "/api/v1/tables/target/data?filter_column=name&filter_value="+q(dropLit), "", nil).Expect(t, 200)
		w.do(t, "POST", "/api/v1/tables/target/data", "", map[string]any{"id": 2, "name": dropLit + `\'`}).Expect(t, 200)
		if n := w.count(t, `SELECT count(*) FROM public.target WHERE name = '0''); DROP TABLE public.canary; --\'''`); n != 1 {
			t.Error("value not stored verbatim")
		}
		w.do(t, "DELETE", "/api/v1/tables/target/data/2?id_column=id", "", nil).Expect(t, 200)
	})
	if after := tables(); after != before {
		t.Errorf("schema changed:\nbefore %s\nafter  %s", before, after)
	}
	if n := w.count(t, `SELECT count(*) FROM public.canary WHERE note = 'alive'`); n != 1 {
		t.Error("canary gone")
	}
	if n := w.count(t, `SELECT count(*) FROM public.target`); n != 1 || !strings.Contains(before, "public.target:name:text") {
		t.Errorf("target has %d rows", n)
	}
}

func TestSchemaRoutes(t *testing.T) {
	w := start(t)
	w.create(t, map[string]any{"name": "authors", "description": "People", "columns": []map[string]any{
		{"name": "id", "type": "serial", "primary_key": true}, {"name": "name", "type": "text", "description": "Full name"}}})
	w.create(t, map[string]any{"name": "books", "columns": []map[string]any{
		{"name": "id", "type": "serial", "primary_key": true},
		{"name": "author_id", "type": "int", "is_foreign_key": true, "references_table": "authors", "references_column": "id"}}})
	w.do(t, "GET", "/api/v1/schema", "", nil).Expect(t, 401)
	w.do(t, "GET", "/api/v1/schema", w.alice.Token, nil).Expect(t, 403)
	w.do(t, "GET", "/api/v1/schema/visualization", "", nil).Expect(t, 401)
	w.do(t, "GET", "/api/v1/schema/visualization", w.bob.Token, nil).Expect(t, 403)

	var s struct {
		Tables []struct {
			Name    string           `json:"table_name"`
			Desc    *string          `json:"table_description"`
			Columns []map[string]any `json:"columns"`
			PKs     []string         `json:"primary_keys"`
		} `json:"tables"`
		FKs []map[string]any `json:"foreign_keys"`
	}
	w.do(t, "GET", "/api/v1/schema", w.su.Token, nil).Expect(t, 200).JSON(t, &s)
	if len(s.Tables) != 2 || s.Tables[0].Name != "authors" || *s.Tables[0].Desc != "People" || s.Tables[0].PKs[0] != "id" {
		t.Fatalf("tables %+v", s.Tables)
	}
	if c := s.Tables[0].Columns[1]; c["column_name"] != "name" || c["column_description"] != "Full name" || c["is_nullable"] != "YES" || c["data_type"] != "text" {
		t.Errorf("column %v", c)
	}
	if len(s.FKs) != 1 || s.FKs[0]["table_name"] != "books" || s.FKs[0]["foreign_table_name"] != "authors" || s.FKs[0]["column_name"] != "author_id" {
		t.Errorf("fks %v", s.FKs)
	}
	var v struct {
		Nodes []map[string]any `json:"nodes"`
		Edges []map[string]any `json:"edges"`
	}
	w.do(t, "GET", "/api/v1/schema/visualization", w.su.Token, nil).Expect(t, 200).JSON(t, &v)
	if len(v.Nodes) != 2 || v.Nodes[1]["id"] != "books" || v.Nodes[1]["columns"].([]any)[0].(map[string]any)["is_primary_key"] != true {
		t.Errorf("nodes %v", v.Nodes)
	}
	if len(v.Edges) != 1 || v.Edges[0]["source"] != "books" || v.Edges[0]["target"] != "authors" || v.Edges[0]["label"] != "books → authors" ||
		v.Edges[0]["source_column"] != "author_id" || v.Edges[0]["target_column"] != "id" {
		t.Errorf("edges %v", v.Edges)
	}
}

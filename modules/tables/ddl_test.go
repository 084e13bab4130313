package tables_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/selfdb/selfdb/platform/testkit"
)

func TestDDLRoutes(t *testing.T) {
	w := start(t)
	su := w.su.Token
	cols := []map[string]any{
		{"name": "id", "type": "uuid", "primary": true, "default": "gen_random_uuid()"},
		{"name": "title", "type": "varchar(50)", "nullable": false, "description": "The title"},
		{"name": "n", "type": "integer", "default": 3},
		{"name": "created_at", "type": "timestamptz", "default": "now()"},
	}
	testkit.Run(t, w.App, []testkit.Case{
		{Name: "create anon", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables", Body: map[string]any{"name": "posts", "columns": cols}}, Status: 401},
		{Name: "create user", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables", Token: w.alice.Token, Body: map[string]any{"name": "posts", "columns": cols}}, Status: 403},
		{Name: "create", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables", Token: su, Body: map[string]any{"name": "posts", "description": "Blog posts", "columns": cols}}, Status: 201,
			Want: map[string]any{"created": true, "name": "posts", "message": "Table 'posts' created successfully", "columns": testkit.Present}},
		{Name: "create exists", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables", Token: su, Body: map[string]any{"name": "posts", "columns": cols}}, Status: 400,
			Want: map[string]any{"detail": "Table 'posts' already exists", "code": "table_exists"}},
		{Name: "create if_not_exists", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables/", Token: su, Body: map[string]any{"name": "posts", "if_not_exists": true, "columns": cols}}, Status: 201,
			Want: map[string]any{"created": false, "message": "Table 'posts' already exists"}},
		{Name: "create no columns", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables", Token: su, Body: map[string]any{"name": "empty", "columns": []any{}}}, Status: 400},
		{Name: "create duplicate columns", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables", Token: su, Body: map[string]any{"name": "dup", "columns": []map[string]any{{"name": "a", "type": "int"}, {"name": "a", "type": "text"}}}}, Status: 400},
		{Name: "create unknown type", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables", Token: su, Body: map[string]any{"name": "t1", "columns": []map[string]any{{"name": "a", "type": "geometry"}}}}, Status: 400,
			Want: map[string]any{"code": "invalid_type"}},
		{Name: "create fk to missing table", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables", Token: su, Body: map[string]any{"name": "t2", "columns": []map[string]any{
			{"name": "a", "type": "int", "is_foreign_key": true, "references_table": "nope", "references_column": "id"}}}}, Status: 400},
		{Name: "create fk to selfdb table", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables", Token: su, Body: map[string]any{"name": "t3", "columns": []map[string]any{
			{"name": "a", "type": "uuid", "is_foreign_key": true, "references_table": "users", "references_column": "id"}}}}, Status: 400},
		{Name: "create fk", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables", Token: su, Body: map[string]any{"name": "comments", "columns": []map[string]any{
			{"name": "id", "type": "bigserial", "primary_key": true},
			{"name": "post_id", "type": "uuid", "is_foreign_key": true, "references_table": "posts", "references_column": "id"},
			{"name": "body", "type": "text"}}}}, Status: 201},
		{Name: "get", Req: testkit.Req{Method: "GET", Path: "/api/v1/tables/posts", Token: su}, Status: 200,
			Want: map[string]any{"name": "posts", "description": "Blog posts", "primary_keys": []any{"id"}, "row_count": 0, "owner_column": nil}},
		{Name: "sql anon", Req: testkit.Req{Method: "GET", Path: "/api/v1/tables/posts/sql"}, Status: 401},
		{Name: "sql other user", Req: testkit.Req{Method: "GET", Path: "/api/v1/tables/posts/sql", Token: w.bob.Token}, Status: 403},
		{Name: "sql user", Req: testkit.Req{Method: "GET", Path: "/api/v1/tables/posts/sql", Token: w.alice.Token}, Status: 403},
		{Name: "sql", Req: testkit.Req{Method: "GET", Path: "/api/v1/tables/comments/sql", Token: su}, Status: 200,
			Check: func(t *testing.T, r *testkit.Response) {
				s := r.Map(t)["sql"].(string)
				for _, want := range []string{`CREATE TABLE "public"."comments"`, "id bigserial", "PRIMARY KEY (id)", "FOREIGN KEY (post_id) REFERENCES posts(id)"} {
					if !strings.Contains(s, want) {
						t.Errorf("sql lacks %q:\n%s", want, s)
					}
				}
			}},
		{Name: "add column anon", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables/posts/columns", Body: map[string]any{"column_name": "x", "data_type": "text"}}, Status: 401},
		{Name: "add column user", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables/posts/columns", Token: w.alice.Token, Body: map[string]any{"column_name": "x", "data_type": "text"}}, Status: 403},
		{Name: "add column", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables/posts/columns", Token: su, Body: map[string]any{
			"column_name": "slug", "data_type": "varchar", "character_maximum_length": 30, "is_nullable": "YES", "column_default": "none", "column_description": "url"}}, Status: 200,
			Want: map[string]any{"column_name": "slug", "data_type": "character varying(30)"}},
		{Name: "add column exists", Req: testkit.Req{Method: "POST", Path: "/api/v1/tables/posts/columns", Token: su, Body: map[string]any{"column_name": "slug", "data_type": "text"}}, Status: 400},
		{Name: "structure sees the new column", Req: testkit.Req{Method: "GET", Path: "/api/v1/tables/posts/structure", Token: su}, Status: 200,
			Check: func(t *testing.T, r *testkit.Response) {
				var cols []map[string]any
				r.JSON(t, &cols)
				if len(cols) != 5 || cols[4]["column_name"] != "slug" || cols[4]["character_maximum_length"] != float64(30) || cols[4]["column_description"] != "url" {
					t.Errorf("structure %s", r.Body)
				}
			}},
		{Name: "update column", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/posts/columns/slug", Token: su, Body: map[string]any{
			"new_name": "permalink", "data_type": "text", "is_nullable": "NO", "column_default": nil}}, Status: 200,
			Want: map[string]any{"column_name": "permalink", "message": "Column 'permalink' updated successfully"}},
		{Name: "update column anon", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/posts/columns/permalink", Body: map[string]any{"data_type": "text"}}, Status: 401},
		{Name: "update column user", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/posts/columns/permalink", Token: w.alice.Token, Body: map[string]any{"data_type": "text"}}, Status: 403},
		{Name: "update column unknown", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/posts/columns/nope", Token: su, Body: map[string]any{"data_type": "text"}}, Status: 400},
		{Name: "delete pk column", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/tables/posts/columns/id", Token: su}, Status: 400,
			Want: map[string]any{"code": "column_in_primary_key"}},
		{Name: "delete column anon", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/tables/posts/columns/n"}, Status: 401},
		{Name: "delete column user", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/tables/posts/columns/n", Token: w.bob.Token}, Status: 403},
		{Name: "delete column", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/tables/posts/columns/n", Token: su}, Status: 200,
			Want: map[string]any{"column_name": "n"}},
		{Name: "update table nothing", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/posts", Token: su, Body: map[string]any{}}, Status: 200,
			Want: map[string]any{"message": "No changes were made to the table"}},
		{Name: "update table anon", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/posts", Body: map[string]any{"description": "x"}}, Status: 401},
		{Name: "update table user", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/posts", Token: w.alice.Token, Body: map[string]any{"description": "x"}}, Status: 403},
		{Name: "update table bad level", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/posts", Token: su, Body: map[string]any{"access": map[string]any{"read": "everyone"}}}, Status: 400},
		{Name: "update table owner level without column", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/posts", Token: su, Body: map[string]any{"access": map[string]any{"read": "owner"}}}, Status: 400},
		{Name: "update table owner column of wrong type", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/posts", Token: su, Body: map[string]any{"owner_column": "created_at"}}, Status: 400},
		{Name: "update table", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/posts", Token: su, Body: map[string]any{
			"new_name": "articles", "description": "Articles", "access": map[string]any{"read": "public"}}}, Status: 200,
			Want: map[string]any{"old_name": "posts", "new_name": "articles", "description": "Articles",
				"access": map[string]any{"read": "public", "insert": "authenticated", "update": "superuser", "delete": "superuser", "owner_column": nil}}},
		{Name: "old name gone", Req: testkit.Req{Method: "GET", Path: "/api/v1/tables/posts", Token: su}, Status: 404},
		{Name: "renamed keeps policy, readable by anon", Req: testkit.Req{Method: "GET", Path: "/api/v1/tables/articles"}, Status: 200,
			Want: map[string]any{"description": "Articles", "access": map[string]any{"read": "public", "insert": "authenticated"}}},
		{Name: "rename onto existing", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/articles", Token: su, Body: map[string]any{"new_name": "comments"}}, Status: 400},
		{Name: "drop anon", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/tables/comments"}, Status: 401},
		{Name: "drop user", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/tables/comments", Token: w.alice.Token}, Status: 403},
		{Name: "drop referenced table", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/tables/articles", Token: su}, Status: 409},
		{Name: "drop", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/tables/comments", Token: su}, Status: 200,
			Want: map[string]any{"message": "Table 'comments' deleted successfully"}},
		{Name: "drop again", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/tables/comments", Token: su}, Status: 404},
		{Name: "drop selfdb table", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/tables/users", Token: su}, Status: 404},
	})
	if n := w.count(t, `SELECT count(*) FROM selfdb.table_policies WHERE table_name IN ('comments', 'posts')`); n != 0 {
		t.Errorf("%d stale policies", n)
	}
	if n := w.count(t, `SELECT count(*) FROM selfdb.users`); n < 3 {
		t.Error("selfdb.users touched")
	}
}

// TestCreateSQLRoundTrip: GET /{t}/sql recreates the table.
func TestCreateSQLRoundTrip(t *testing.T) {
	w := start(t)
	w.sql(t, `CREATE TABLE public.src (
		id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code varchar(8) NOT NULL UNIQUE, qty int DEFAULT 1 CHECK (qty > 0),
		total int GENERATED ALWAYS AS (qty * 2) STORED, parent int REFERENCES public.src (id), note text);
		CREATE INDEX src_note_idx ON public.src (lower(note)); COMMENT ON TABLE public.src IS 'it''s'`)
	def := w.do(t, "GET", "/api/v1/tables/src/sql", w.su.Token, nil).Expect(t, 200).Map(t)["sql"].(string)
	def = strings.ReplaceAll(def, `"public"."src"`, `"public"."copy"`)
	def = strings.ReplaceAll(def, "REFERENCES src(", "REFERENCES copy(")
	def = strings.ReplaceAll(def, "ON public.src ", "ON public.copy ")
	def = strings.ReplaceAll(def, "src_", "copy_")
	w.sql(t, def)
	shape := func(table string) string {
		var s string
		if err := w.DB.DB.QueryRow(`SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '-') || ' ' || is_identity || ' ' || is_generated, ', ' ORDER BY ordinal_position)
			FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`, table).Scan(&s); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := w.DB.DB.QueryRow(`SELECT count(*) FROM pg_constraint WHERE conrelid = ('public.' || $1)::regclass`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		var idx int
		if err := w.DB.DB.QueryRow(`SELECT count(*) FROM pg_index WHERE indrelid = ('public.' || $1)::regclass`, table).Scan(&idx); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s | %d constraints | %d indexes", s, n, idx)
	}
	if a, b := shape("src"), shape("copy"); a != b {
		t.Errorf("recreated table differs:\n%s\n%s\nfrom:\n%s", a, b, def)
	}
}

func TestUpdateColumnAndOwnerRename(t *testing.T) {
	w := start(t)
	su := w.su.Token
	w.create(t, map[string]any{"name": "notes", "owner_column": "owner", "access": map[string]any{"read": "owner"}, "columns": []map[string]any{
		{"name": "id", "type": "serial", "primary_key": true}, {"name": "owner", "type": "uuid"}, {"name": "v", "type": "varchar(5)"}}})
	w.do(t, "PUT", "/api/v1/tables/notes/columns/v", su, map[string]any{"new_name": "body", "data_type": "text", "column_default": "hi", "column_description": "d"}).Expect(t, 200)
	w.do(t, "PUT", "/api/v1/tables/notes/columns/owner", su, map[string]any{"new_name": "author"}).Expect(t, 200)
	w.do(t, "DELETE", "/api/v1/tables/notes/columns/author", su, nil).Expect(t, 400)
	var d map[string]any
	w.do(t, "GET", "/api/v1/tables/notes", su, nil).Expect(t, 200).JSON(t, &d)
	if d["owner_column"] != "author" {
		t.Errorf("owner column after rename: %v", d["owner_column"])
	}
	body := d["columns"].([]any)[2].(map[string]any)
	if body["column_name"] != "body" || body["data_type"] != "text" || body["column_default"] != "'hi'::text" || body["column_description"] != "d" {
		t.Errorf("column after update %v", body)
	}
	r := w.do(t, "POST", "/api/v1/tables/notes/data", w.alice.Token, map[string]any{}).Expect(t, 200)
	if m := r.Map(t); m["author"] != w.alice.ID || m["body"] != "hi" {
		t.Errorf("insert after rename %s", r.Body)
	}
	w.do(t, "PUT", "/api/v1/tables/notes/columns/body", su, map[string]any{"is_nullable": "NO"}).Expect(t, 200)
	w.do(t, "PUT", "/api/v1/tables/notes/columns/body", su, map[string]any{"data_type": "integer"}).Expect(t, 400)
	w.do(t, "PUT", "/api/v1/tables/notes/columns/body", su, map[string]any{"is_nullable": "maybe"}).Expect(t, 400)
	w.do(t, "PUT", "/api/v1/tables/notes/columns/body", su, map[string]any{"new_name": "id"}).Expect(t, 400)
	w.do(t, "PUT", "/api/v1/tables/notes", su, map[string]any{"owner_column": nil, "access": map[string]any{"read": "authenticated"}}).Expect(t, 200)
	w.do(t, "GET", "/api/v1/tables/notes", su, nil).Expect(t, 200).JSON(t, &d)
	if d["owner_column"] != nil {
		t.Errorf("owner column not cleared")
	}
}

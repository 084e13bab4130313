package sqlconsole_test

import (
	"testing"

	"github.com/selfdb/selfdb/platform/testkit"
)

func TestSnippets(t *testing.T) {
	w := start(t)
	other := newUser(t, w.App, true)
	var mine, shared map[string]any
	testkit.Run(t, w.App, []testkit.Case{
		{Name: "create", Req: testkit.Req{Method: "POST", Path: "/api/v1/sql/snippets", Token: w.su.Token, Body: map[string]any{"name": "all pets", "sql_code": "SELECT * FROM pets"}}, Status: 200,
			Want:  map[string]any{"name": "all pets", "sql_code": "SELECT * FROM pets", "is_shared": false, "description": nil, "user_id": w.su.ID, "id": testkit.Present, "created_at": testkit.Present, "updated_at": testkit.Present},
			Check: func(t *testing.T, r *testkit.Response) { mine = r.Map(t) }},
		{Name: "create shared", Req: testkit.Req{Method: "POST", Path: "/api/v1/sql/snippets", Token: other.Token, Body: map[string]any{"name": "count", "sql_code": "SELECT 1", "description": "d", "is_shared": true}}, Status: 200,
			Check: func(t *testing.T, r *testkit.Response) { shared = r.Map(t) }},
		{Name: "create other private", Req: testkit.Req{Method: "POST", Path: "/api/v1/sql/snippets", Token: other.Token, Body: map[string]any{"name": "secret", "sql_code": "SELECT 2"}}, Status: 200},
		{Name: "create missing fields", Req: testkit.Req{Method: "POST", Path: "/api/v1/sql/snippets", Token: w.su.Token, Body: map[string]any{"name": ""}}, Status: 422},
		{Name: "create bad JSON", Req: testkit.Req{Method: "POST", Path: "/api/v1/sql/snippets", Token: w.su.Token, Body: "{"}, Status: 422},
	})
	var list []map[string]any
	w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/sql/snippets", Token: w.su.Token}).Expect(t, 200).JSON(t, &list)
	if len(list) != 2 || list[0]["id"] != shared["id"] || list[1]["id"] != mine["id"] {
		t.Fatalf("own + shared, newest first: %v", list)
	}
	id := mine["id"].(string)
	testkit.Run(t, w.App, []testkit.Case{
		{Name: "update", Req: testkit.Req{Method: "PUT", Path: "/api/v1/sql/snippets/" + id, Token: w.su.Token, Body: map[string]any{"sql_code": "SELECT 3", "is_shared": true}}, Status: 200,
			Want: map[string]any{"name": "all pets", "sql_code": "SELECT 3", "is_shared": true}},
		{Name: "update by another superuser", Req: testkit.Req{Method: "PUT", Path: "/api/v1/sql/snippets/" + id, Token: other.Token, Body: map[string]any{"name": "mine now"}}, Status: 404,
			Want: map[string]any{"detail": "Snippet not found or you don't have permission to update it"}},
		{Name: "update bad id", Req: testkit.Req{Method: "PUT", Path: "/api/v1/sql/snippets/nope", Token: w.su.Token, Body: map[string]any{"name": "x"}}, Status: 422},
		{Name: "update empty name", Req: testkit.Req{Method: "PUT", Path: "/api/v1/sql/snippets/" + id, Token: w.su.Token, Body: map[string]any{"name": " "}}, Status: 422},
		{Name: "delete by another superuser", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/sql/snippets/" + id, Token: other.Token}, Status: 404},
		{Name: "delete", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/sql/snippets/" + id, Token: w.su.Token}, Status: 200,
			Want: map[string]any{"message": "Snippet deleted successfully", "deleted_snippet": map[string]any{"id": id, "sql_code": "SELECT 3"}}},
		{Name: "delete again", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/sql/snippets/" + id, Token: w.su.Token}, Status: 404},
	})

	t.Run("deleting a user deletes their snippets and history", func(t *testing.T) {
		w.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/sql/query", Token: other.Token, Body: map[string]any{"query": "SELECT 1"}}).Expect(t, 200)
		w.Do(t, testkit.Req{Method: "DELETE", Path: "/api/v1/users/" + other.ID, Token: w.su.Token}).Expect(t, 200)
		if n := w.count(t, `SELECT (SELECT count(*) FROM selfdb.sql_snippets WHERE user_id = '`+other.ID+`') + (SELECT count(*) FROM selfdb.sql_history WHERE user_id = '`+other.ID+`')`); n != 0 {
			t.Errorf("%d rows left", n)
		}
	})
}

package functions_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/selfdb/selfdb/platform/testkit"
)

const (
	authDetail  = "Authentication with user credentials required for this endpoint"
	privDetail  = "The user doesn't have enough privileges"
	missingID   = "00000000-0000-4000-8000-000000000000"
	helloCode   = "export default async function handler(req, ctx) {\n  return { hello: \"world\" };\n}\n"
	helloCodeV2 = "export default async function handler(req, ctx) {\n  return { hello: \"again\" };\n}\n"
)

// denied are the refusals of a superuser route: anon 401, a user 403.
func denied(name, method, path string, body any, user session) []testkit.Case {
	return []testkit.Case{
		{Name: name + " anon", Req: testkit.Req{Method: method, Path: path, Body: body}, Status: 401,
			Want: map[string]any{"detail": authDetail, "code": "not_authenticated"}, WantHeader: map[string]string{"WWW-Authenticate": "Bearer"}},
		{Name: name + " user", Req: testkit.Req{Method: method, Path: path, Body: body, Token: user.Token}, Status: 403,
			Want: map[string]any{"detail": privDetail, "code": "not_enough_privileges"}},
	}
}

func count(n int) func(t *testing.T, r *testkit.Response) {
	return func(t *testing.T, r *testkit.Response) {
		var rows []map[string]any
		r.JSON(t, &rows)
		if len(rows) != n {
			t.Errorf("%d entries, want %d: %s", len(rows), n, r.Body)
		}
	}
}

// Every management route (api.md §9): the identity matrix, the body shapes
// and each error.
func TestManagementRoutes(t *testing.T) {
	e := start(t)
	sql(t, e.App, "DELETE FROM selfdb.functions")
	su := admin(t, e.App)
	user := newUser(t, e.App, "fn-user@example.com")
	name := fname("mgmt")
	f := create(t, e.App, su.Token, map[string]any{"name": name, "code": helloCode, "description": "says hello"})
	id := f["id"].(string)
	base := "/api/v1/functions"
	fp := base + "/" + id
	other := create(t, e.App, su.Token, map[string]any{"name": fname("other"), "code": helloCode})
	var envID string

	var cases []testkit.Case
	for _, r := range []struct {
		name, method, path string
		body               any
	}{
		{"list", "GET", base, nil},
		{"create", "POST", base, map[string]any{"name": fname("x"), "code": helloCode}},
		{"get", "GET", fp, nil},
		{"update", "PUT", fp, map[string]any{"description": "x"}},
		{"delete", "DELETE", fp, nil},
		{"versions", "GET", fp + "/versions", nil},
		{"restore", "POST", fp + "/versions/1/restore", nil},
		{"env list", "GET", fp + "/env", nil},
		{"env create", "POST", fp + "/env", map[string]any{"key": "K", "value": "v"}},
		{"env update", "PUT", fp + "/env/" + missingID, map[string]any{"key": "K", "value": "v"}},
		{"env delete", "DELETE", fp + "/env/" + missingID, nil},
		{"logs", "GET", fp + "/logs", nil},
		{"template", "GET", base + "/templates/http", nil},
		{"event", "POST", base + "/events/thing", map[string]any{}},
	} {
		cases = append(cases, denied(r.name, r.method, r.path, r.body, user)...)
	}
	cases = append(cases, []testkit.Case{
		// GET ""
		{Name: "list superuser", Req: testkit.Req{Method: "GET", Path: base, Token: su.Token}, Status: 200, Check: count(2)},
		{Name: "list trailing slash", Req: testkit.Req{Method: "GET", Path: base + "/", Token: su.Token}, Status: 200, Check: count(2)},
		{Name: "list paging", Req: testkit.Req{Method: "GET", Path: base + "?skip=1&limit=1", Token: su.Token}, Status: 200,
			Want: []any{map[string]any{"id": other["id"]}}},
		{Name: "list bad limit", Req: testkit.Req{Method: "GET", Path: base + "?limit=0", Token: su.Token}, Status: 422,
			Want: map[string]any{"code": "validation_failed"}},
		// POST ""
		{Name: "create shape", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{
			"name": "shape-" + name[5:], "code": helloCode, "is_active": false, "timeout_ms": 5000, "invoke_policy": "public",
			"triggers": []any{map[string]any{"type": "http", "method": "get"}}}}, Status: 201,
			Want: map[string]any{"id": testkit.Present, "name": "shape-" + name[5:], "description": nil, "code": helloCode, "is_active": false,
				"owner_id": su.ID, "version_number": 1, "created_at": testkit.Present, "updated_at": nil,
				"triggers": []any{map[string]any{"type": "http", "method": []any{"GET"}}}, "code_triggers": []any{},
				"timeout_ms": 5000, "invoke_policy": "public", "last_run_at": nil, "last_status": nil}},
		{Name: "create duplicate", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{"name": name, "code": helloCode}}, Status: 400,
			Want: map[string]any{"detail": "Function with this name already exists", "code": "function_exists"}},
		{Name: "create bad name", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{"name": "Bad Name", "code": helloCode}}, Status: 400,
			Want: map[string]any{"code": "invalid_function_name"}},
		{Name: "create name too long", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{"name": strings.Repeat("a", 64), "code": helloCode}}, Status: 400,
			Want: map[string]any{"code": "invalid_function_name"}},
		{Name: "create missing code", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{"name": fname("nocode")}}, Status: 422,
			Want: map[string]any{"detail": []any{map[string]any{"loc": []any{"body", "code"}}}}},
		{Name: "create missing name", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{"code": helloCode}}, Status: 422,
			Want: map[string]any{"detail": []any{map[string]any{"loc": []any{"body", "name"}}}}},
		{Name: "create bad json", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: "{", Headers: map[string]string{"Content-Type": "application/json"}}, Status: 422},
		{Name: "create bad trigger", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{"name": fname("t"), "code": helloCode,
			"triggers": []any{map[string]any{"type": "schedule", "cron": "every minute"}}}}, Status: 400, Want: map[string]any{"code": "invalid_trigger"}},
		{Name: "create unknown trigger", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{"name": fname("t"), "code": helloCode,
			"triggers": []any{map[string]any{"type": "webhook"}}}}, Status: 400, Want: map[string]any{"code": "invalid_trigger"}},
		{Name: "create bad timeout", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{"name": fname("t"), "code": helloCode, "timeout_ms": 10}}, Status: 400,
			Want: map[string]any{"code": "invalid_timeout"}},
		{Name: "create bad policy", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{"name": fname("t"), "code": helloCode, "invoke_policy": "everyone"}}, Status: 400,
			Want: map[string]any{"code": "invalid_invoke_policy"}},
		{Name: "create code that does not compile", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{"name": fname("bad"),
			"code": "export default async function handler(req) {\n  const x = ;\n}\n"}}, Status: 400,
			Want: map[string]any{"code": "function_code_invalid", "line": 2, "column": 13, "compiler_message": "SyntaxError: Expression expected",
				"detail": "Function code does not compile: SyntaxError: Expression expected (line 2, column 13)"}},
		{Name: "create code without default export", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{"name": fname("bad"),
			"code": "export function handler() { return 1 }"}}, Status: 400, Want: map[string]any{"code": "function_code_invalid"}},
		{Name: "create code that throws at load", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{"name": fname("bad"),
			"code": "export default () => 1;\n\nthrow new Error('boom at load');\n"}}, Status: 400,
			Want: map[string]any{"code": "function_code_invalid", "line": 3}},
		{Name: "create code with bad declared trigger", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{"name": fname("bad"),
			"code": "export const triggers = [{type: 'schedule', cron: '61 * * * *'}];\nexport default () => 1;\n"}}, Status: 400, Want: map[string]any{"code": "invalid_trigger"}},
		{Name: "create TypeScript with declared triggers", Req: testkit.Req{Method: "POST", Path: base, Token: su.Token, Body: map[string]any{"name": fname("ts"),
			"code": "export const description = 'typed';\nexport const triggers = [{type: 'event', event: 'x.y'}];\nexport const runOnce = false;\n" +
				"export default async function handler(req: Request, ctx: { env: Record<string, string> }): Promise<{ n: number }> {\n  return { n: 1 as number };\n}\n"}}, Status: 201,
			Want: map[string]any{"description": "typed", "code_triggers": []any{map[string]any{"type": "event", "event": "x.y"}}, "triggers": []any{}}},
		// GET /{id}
		{Name: "get", Req: testkit.Req{Method: "GET", Path: fp, Token: su.Token}, Status: 200,
			Want: map[string]any{"id": id, "name": name, "description": "says hello", "code": helloCode, "version_number": 1}},
		{Name: "get missing", Req: testkit.Req{Method: "GET", Path: base + "/" + missingID, Token: su.Token}, Status: 404,
			Want: map[string]any{"detail": "Function not found", "code": "function_not_found"}},
		{Name: "get bad id", Req: testkit.Req{Method: "GET", Path: base + "/nope", Token: su.Token}, Status: 422,
			Want: map[string]any{"detail": []any{map[string]any{"loc": []any{"path", "function_id"}}}}},
		// PUT /{id}
		{Name: "update without code keeps the version", Req: testkit.Req{Method: "PUT", Path: fp, Token: su.Token, Body: map[string]any{"description": "new", "timeout_ms": 2000}}, Status: 200,
			Want: map[string]any{"description": "new", "timeout_ms": 2000, "version_number": 1, "updated_at": testkit.Present}},
		{Name: "update code adds a version", Req: testkit.Req{Method: "PUT", Path: fp, Token: su.Token, Body: map[string]any{"code": helloCodeV2}}, Status: 200,
			Want: map[string]any{"code": helloCodeV2, "version_number": 2}},
		{Name: "update same code adds nothing", Req: testkit.Req{Method: "PUT", Path: fp, Token: su.Token, Body: map[string]any{"code": helloCodeV2}}, Status: 200,
			Want: map[string]any{"version_number": 2}},
		{Name: "update bad code keeps the old", Req: testkit.Req{Method: "PUT", Path: fp, Token: su.Token, Body: map[string]any{"code": "export default (("}}, Status: 400,
			Want: map[string]any{"code": "function_code_invalid", "line": 1}},
		{Name: "update JS SDK trigger shape", Req: testkit.Req{Method: "PUT", Path: fp, Token: su.Token, Body: map[string]any{
			"trigger_type": "schedule", "trigger_config": map[string]any{"cron": "0 */2 * * 1-5"}}}, Status: 200,
			Want: map[string]any{"triggers": []any{map[string]any{"type": "schedule", "cron": "0 */2 * * 1-5"}}}},
		{Name: "update duplicate name", Req: testkit.Req{Method: "PUT", Path: fp, Token: su.Token, Body: map[string]any{"name": other["name"]}}, Status: 400,
			Want: map[string]any{"code": "function_exists"}},
		{Name: "update bad name", Req: testkit.Req{Method: "PUT", Path: fp, Token: su.Token, Body: map[string]any{"name": "-x"}}, Status: 400,
			Want: map[string]any{"code": "invalid_function_name"}},
		{Name: "update missing", Req: testkit.Req{Method: "PUT", Path: base + "/" + missingID, Token: su.Token, Body: map[string]any{"description": "x"}}, Status: 404},
		{Name: "update bad id", Req: testkit.Req{Method: "PUT", Path: base + "/1", Token: su.Token, Body: map[string]any{}}, Status: 422},
		// versions
		{Name: "versions newest first", Req: testkit.Req{Method: "GET", Path: fp + "/versions", Token: su.Token}, Status: 200,
			Want: []any{
				map[string]any{"version_number": 2, "code": helloCodeV2, "id": testkit.Present, "created_at": testkit.Present, "created_by": su.ID},
				map[string]any{"version_number": 1, "code": helloCode, "created_by": su.ID},
			}},
		{Name: "versions missing", Req: testkit.Req{Method: "GET", Path: base + "/" + missingID + "/versions", Token: su.Token}, Status: 404},
		{Name: "restore", Req: testkit.Req{Method: "POST", Path: fp + "/versions/1/restore", Token: su.Token}, Status: 200,
			Want: map[string]any{"version_number": 3, "code": helloCode}},
		{Name: "restore unknown version", Req: testkit.Req{Method: "POST", Path: fp + "/versions/9/restore", Token: su.Token}, Status: 404,
			Want: map[string]any{"detail": "Version not found", "code": "version_not_found"}},
		{Name: "restore bad number", Req: testkit.Req{Method: "POST", Path: fp + "/versions/x/restore", Token: su.Token}, Status: 422},
		{Name: "versions after restore", Req: testkit.Req{Method: "GET", Path: fp + "/versions", Token: su.Token}, Status: 200, Check: count(3)},
		// env
		{Name: "env empty", Req: testkit.Req{Method: "GET", Path: fp + "/env", Token: su.Token}, Status: 200, Want: []any{}},
		{Name: "env create secret by default", Req: testkit.Req{Method: "POST", Path: fp + "/env", Token: su.Token, Body: map[string]any{"key": "API_KEY", "value": "s3cr3t-value"}}, Status: 201,
			Want:  map[string]any{"id": testkit.Present, "key": "API_KEY", "value": "********", "is_secret": true},
			Check: func(t *testing.T, r *testkit.Response) { envID = r.Map(t)["id"].(string) }},
		{Name: "env create plain", Req: testkit.Req{Method: "POST", Path: fp + "/env", Token: su.Token, Body: map[string]any{"key": "MODE", "value": "test", "is_secret": false}}, Status: 201,
			Want: map[string]any{"key": "MODE", "value": "test", "is_secret": false}},
		{Name: "env duplicate", Req: testkit.Req{Method: "POST", Path: fp + "/env", Token: su.Token, Body: map[string]any{"key": "MODE", "value": "x"}}, Status: 400,
			Want: map[string]any{"code": "env_var_exists"}},
		{Name: "env bad key", Req: testkit.Req{Method: "POST", Path: fp + "/env", Token: su.Token, Body: map[string]any{"key": "1-BAD", "value": "x"}}, Status: 400,
			Want: map[string]any{"code": "invalid_env_key"}},
		{Name: "env missing value", Req: testkit.Req{Method: "POST", Path: fp + "/env", Token: su.Token, Body: map[string]any{"key": "K"}}, Status: 422},
		{Name: "env of missing function", Req: testkit.Req{Method: "POST", Path: base + "/" + missingID + "/env", Token: su.Token, Body: map[string]any{"key": "K", "value": "v"}}, Status: 404,
			Want: map[string]any{"code": "function_not_found"}},
		{Name: "env list masks secrets", Req: testkit.Req{Method: "GET", Path: fp + "/env", Token: su.Token}, Status: 200,
			Want: []any{map[string]any{"key": "API_KEY", "value": "********", "is_secret": true}, map[string]any{"key": "MODE", "value": "test", "is_secret": false}},
			Check: func(t *testing.T, r *testkit.Response) {
				if strings.Contains(string(r.Body), "s3cr3t") {
					t.Errorf("secret value listed: %s", r.Body)
				}
			}},
		{Name: "env other function has none", Req: testkit.Req{Method: "GET", Path: base + "/" + other["id"].(string) + "/env", Token: su.Token}, Status: 200, Want: []any{}},
		{Name: "env update missing", Req: testkit.Req{Method: "PUT", Path: fp + "/env/" + missingID, Token: su.Token, Body: map[string]any{"key": "K", "value": "v"}}, Status: 404,
			Want: map[string]any{"detail": "Environment variable not found", "code": "env_var_not_found"}},
		{Name: "env delete missing", Req: testkit.Req{Method: "DELETE", Path: fp + "/env/" + missingID, Token: su.Token}, Status: 404},
		{Name: "env bad env id", Req: testkit.Req{Method: "DELETE", Path: fp + "/env/x", Token: su.Token}, Status: 422},
		// logs
		{Name: "logs empty", Req: testkit.Req{Method: "GET", Path: fp + "/logs", Token: su.Token}, Status: 200, Want: []any{}},
		{Name: "logs bad limit", Req: testkit.Req{Method: "GET", Path: fp + "/logs?limit=0", Token: su.Token}, Status: 422},
		{Name: "logs missing", Req: testkit.Req{Method: "GET", Path: base + "/" + missingID + "/logs", Token: su.Token}, Status: 404},
		// templates
		{Name: "template unknown", Req: testkit.Req{Method: "GET", Path: base + "/templates/webhook", Token: su.Token}, Status: 404,
			Want: map[string]any{"code": "template_not_found"}},
		// events
		{Name: "event with no subscriber", Req: testkit.Req{Method: "POST", Path: base + "/events/nobody.listens", Token: su.Token, Body: map[string]any{"a": 1}}, Status: 202,
			Want: map[string]any{"event": "nobody.listens", "functions": []any{}}},
		{Name: "event bad body", Req: testkit.Req{Method: "POST", Path: base + "/events/x", Token: su.Token, Body: "{", Headers: map[string]string{"Content-Type": "application/json"}}, Status: 422},
	}...)
	testkit.Run(t, e.App, cases)

	// env update and delete need the id created above.
	testkit.Run(t, e.App, []testkit.Case{
		{Name: "env update masked value keeps the secret", Req: testkit.Req{Method: "PUT", Path: fp + "/env/" + envID, Token: su.Token,
			Body: map[string]any{"key": "API_KEY", "value": "********"}}, Status: 200, Want: map[string]any{"key": "API_KEY", "value": "********", "is_secret": true}},
		{Name: "env update to plain shows the value", Req: testkit.Req{Method: "PUT", Path: fp + "/env/" + envID, Token: su.Token,
			Body: map[string]any{"is_secret": false}}, Status: 200, Want: map[string]any{"key": "API_KEY", "value": "s3cr3t-value", "is_secret": false}},
		{Name: "env update key", Req: testkit.Req{Method: "PUT", Path: fp + "/env/" + envID, Token: su.Token,
			Body: map[string]any{"key": "TOKEN", "value": "new", "is_secret": true}}, Status: 200, Want: map[string]any{"key": "TOKEN", "value": "********"}},
		{Name: "env update to a taken key", Req: testkit.Req{Method: "PUT", Path: fp + "/env/" + envID, Token: su.Token,
			Body: map[string]any{"key": "MODE"}}, Status: 400, Want: map[string]any{"code": "env_var_exists"}},
		{Name: "env delete", Req: testkit.Req{Method: "DELETE", Path: fp + "/env/" + envID, Token: su.Token}, Status: 204},
		{Name: "env deleted", Req: testkit.Req{Method: "GET", Path: fp + "/env", Token: su.Token}, Status: 200, Check: count(1)},
		// DELETE /{id}
		{Name: "delete", Req: testkit.Req{Method: "DELETE", Path: fp, Token: su.Token}, Status: 204},
		{Name: "gone", Req: testkit.Req{Method: "GET", Path: fp, Token: su.Token}, Status: 404},
		{Name: "delete again", Req: testkit.Req{Method: "DELETE", Path: fp, Token: su.Token}, Status: 404},
		{Name: "delete bad id", Req: testkit.Req{Method: "DELETE", Path: base + "/x", Token: su.Token}, Status: 422},
	})
}

// Each template is a JSON string holding TypeScript that saves and runs.
func TestTemplates(t *testing.T) {
	e := start(t)
	su := admin(t, e.App)
	for _, typ := range []string{"http", "schedule", "database", "event", "once"} {
		r := e.Get(t, "/api/v1/functions/templates/"+typ, su.Token).Expect(t, 200)
		var code string
		if err := json.Unmarshal(r.Body, &code); err != nil || !strings.Contains(code, "export default") {
			t.Fatalf("template %s: %v %s", typ, err, r.Body)
		}
		f := create(t, e.App, su.Token, map[string]any{"name": fname("tpl-" + typ), "code": code, "is_active": false})
		ct := f["code_triggers"].([]any)
		if len(ct) != 1 || ct[0].(map[string]any)["type"] != typ {
			t.Errorf("template %s declares %v", typ, ct)
		}
	}
}

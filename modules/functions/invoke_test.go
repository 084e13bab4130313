package functions_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/selfdb/selfdb/platform/testkit"
)

// echoCode answers with what the function saw of its call.
const echoCode = `export default async function handler(req, ctx) {
  const url = new URL(req.url);
  return {
    method: req.method, path: url.pathname, query: url.search, body: await req.text(),
    user: req.headers.get("x-user-id"), role: req.headers.get("x-user-role"),
    auth: req.headers.get("authorization"), trigger: req.headers.get("x-trigger-type"),
    custom: req.headers.get("x-custom"), type: req.headers.get("content-type"),
    env: ctx.env, api: typeof ctx.callBackend,
  };
}
`

// The invocation routes: the policy matrix, what the function sees, what
// comes back, and the refusals.
func TestInvoke(t *testing.T) {
	e := start(t)
	su := admin(t, e.App)
	user := newUser(t, e.App, "caller@example.com")
	other := newUser(t, e.App, "other-caller@example.com")
	names := map[string]string{}
	for _, policy := range []string{"public", "authenticated", "superuser"} {
		names[policy] = create(t, e.App, su.Token, map[string]any{"name": fname("echo-" + policy), "code": echoCode, "invoke_policy": policy})["name"].(string)
	}
	get := create(t, e.App, su.Token, map[string]any{"name": fname("get-only"), "code": echoCode, "invoke_policy": "public",
		"triggers": []any{map[string]any{"type": "http", "method": "GET"}}})["name"].(string)
	scheduled := create(t, e.App, su.Token, map[string]any{"name": fname("scheduled"), "code": echoCode, "invoke_policy": "public",
		"triggers": []any{map[string]any{"type": "schedule", "cron": "0 0 1 1 *"}}})["name"].(string)
	inactive := create(t, e.App, su.Token, map[string]any{"name": fname("off"), "code": echoCode, "invoke_policy": "public", "is_active": false})["name"].(string)
	teapot := create(t, e.App, su.Token, map[string]any{"name": fname("teapot"), "invoke_policy": "public", "code": `export default () =>
  new Response("short and stout", { status: 418, headers: { "x-fn": "yes", "content-type": "text/plain", "set-cookie": "a=1" } });`})["name"].(string)
	thrower := create(t, e.App, su.Token, map[string]any{"name": fname("thrower"), "invoke_policy": "public", "code": `export default async () => {
  console.log("about to fail");
  throw new Error("boom: bad input");
};`})["name"].(string)
	nothing := create(t, e.App, su.Token, map[string]any{"name": fname("nothing"), "invoke_policy": "public", "code": `export default async () => {};`})["name"].(string)
	inv := "/api/v1/functions/invoke/"

	var cases []testkit.Case
	for _, c := range []struct {
		policy, who string
		token       string
		status      int
		code        string
	}{
		{"public", "anon", "", 200, ""},
		{"public", "user", user.Token, 200, ""},
		{"public", "superuser", su.Token, 200, ""},
		{"authenticated", "anon", "", 401, "not_authenticated"},
		{"authenticated", "anon with a bad token", "garbage", 401, "not_authenticated"},
		{"authenticated", "user", user.Token, 200, ""},
		{"authenticated", "other user", other.Token, 200, ""},
		{"authenticated", "superuser", su.Token, 200, ""},
		{"superuser", "anon", "", 401, "not_authenticated"},
		{"superuser", "user", user.Token, 403, "not_enough_privileges"},
		{"superuser", "superuser", su.Token, 200, ""},
	} {
		tc := testkit.Case{Name: c.policy + " by " + c.who, Req: testkit.Req{Method: "POST", Path: inv + names[c.policy], Token: c.token, Body: map[string]any{"x": 1}}, Status: c.status}
		if c.code != "" {
			tc.Want = map[string]any{"code": c.code}
		} else {
			tc.Want = map[string]any{"method": "POST", "body": `{"x":1}`, "trigger": "http"}
		}
		cases = append(cases, tc)
	}
	cases = append(cases, []testkit.Case{
		{Name: "identity of a user", Req: testkit.Req{Method: "GET", Path: inv + names["authenticated"], Token: user.Token}, Status: 200,
			Want: map[string]any{"user": user.ID, "role": "user", "auth": "Bearer " + user.Token, "env": map[string]any{}, "api": "function"}},
		{Name: "identity of anon, forged headers dropped", Req: testkit.Req{Method: "GET", Path: inv + names["public"],
			Headers: map[string]string{"X-User-Id": su.ID, "X-User-Role": "superuser", "X-Trigger-Type": "schedule", "X-Custom": "kept"}}, Status: 200,
			Want: map[string]any{"user": nil, "role": "anon", "auth": nil, "trigger": "http", "custom": "kept"}},
		{Name: "header bytes as JavaScript servers read them", Req: testkit.Req{Method: "GET", Path: inv + names["public"],
			Headers: map[string]string{"X-Custom": "caf\u00e9 \u20ac", "X-Long": strings.Repeat("x", 12000)}}, Status: 200,
			Want: map[string]any{"custom": "caf\u00c3\u00a9 \u00e2\u0082\u00ac"}},
		{Name: "path and query preserved", Req: testkit.Req{Method: "PATCH", Path: inv + names["public"] + "/a/b%20c/?x=1&y=%2F", Body: "raw text",
			Headers: map[string]string{"Content-Type": "text/plain"}}, Status: 200,
			Want: map[string]any{"method": "PATCH", "path": "/api/v1/functions/invoke/" + names["public"] + "/a/b%20c/", "query": "?x=1&y=%2F", "body": "raw text", "type": "text/plain"}},
		{Name: "Python SDK route", Req: testkit.Req{Method: "POST", Path: "/api/v1/functions/" + names["authenticated"], Token: user.Token, Body: map[string]any{"p": true}}, Status: 200,
			Want: map[string]any{"path": "/api/v1/functions/" + names["authenticated"], "body": `{"p":true}`, "user": user.ID}},
		{Name: "Python SDK route with a UUID", Req: testkit.Req{Method: "POST", Path: "/api/v1/functions/" + missingID, Token: su.Token}, Status: 405},
		{Name: "method allowed", Req: testkit.Req{Method: "GET", Path: inv + get}, Status: 200, Want: map[string]any{"method": "GET"}},
		{Name: "HEAD follows GET", Req: testkit.Req{Method: "HEAD", Path: inv + get}, Status: 200},
		{Name: "method refused", Req: testkit.Req{Method: "POST", Path: inv + get}, Status: 405, Want: map[string]any{"code": "function_method_not_allowed"}},
		{Name: "no http trigger", Req: testkit.Req{Method: "GET", Path: inv + scheduled}, Status: 404, Want: map[string]any{"code": "function_not_invocable"}},
		{Name: "inactive", Req: testkit.Req{Method: "GET", Path: inv + inactive, Token: su.Token}, Status: 404, Want: map[string]any{"code": "function_not_found"}},
		{Name: "unknown", Req: testkit.Req{Method: "GET", Path: inv + "no-such-function", Token: su.Token}, Status: 404, Want: map[string]any{"code": "function_not_found"}},
		{Name: "no anon key", Req: testkit.Req{Method: "GET", Path: inv + names["public"], NoKey: true}, Status: 401, Want: map[string]any{"code": "invalid_anon_key"}},
		{Name: "a Response passes through", Req: testkit.Req{Method: "GET", Path: inv + teapot}, Status: 418,
			WantHeader: map[string]string{"X-Fn": "yes", "Content-Type": "text/plain", "Set-Cookie": "a=1"},
			Check: func(t *testing.T, r *testkit.Response) {
				if string(r.Body) != "short and stout" {
					t.Errorf("body %q", r.Body)
				}
			}},
		{Name: "a throw is a 500", Req: testkit.Req{Method: "GET", Path: inv + thrower}, Status: 500,
			Want: map[string]any{"error": "Function execution failed", "message": "boom: bad input"}},
		{Name: "undefined is null", Req: testkit.Req{Method: "GET", Path: inv + nothing}, Status: 200,
			Check: func(t *testing.T, r *testkit.Response) {
				if string(r.Body) != "null" || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("%s %q", r.Header.Get("Content-Type"), r.Body)
				}
			}},
	}...)
	testkit.Run(t, e.App, cases)

	// The runs are recorded with their logs and errors.
	id := e.Get(t, "/api/v1/functions", su.Token).Expect(t, 200)
	var all []map[string]any
	id.JSON(t, &all)
	for _, f := range all {
		if f["name"] != thrower {
			continue
		}
		rs := runs(t, e.App, su.Token, f["id"].(string), 1)
		if msg := testkit.Match(map[string]any{"trigger": "http", "status": "error", "http_status": 500, "logs": "about to fail",
			"duration_ms": testkit.Present, "started_at": testkit.Present, "version_number": 1}, rs[0]); msg != "" {
			t.Error(msg)
		}
		if !strings.Contains(rs[0]["error"].(string), "boom: bad input") || !strings.Contains(rs[0]["error"].(string), thrower+".ts:3") {
			t.Errorf("run error %q lacks the message or the stack", rs[0]["error"])
		}
		got := e.Get(t, "/api/v1/functions/"+f["id"].(string), su.Token).Expect(t, 200).Map(t)
		if got["last_status"] != "error" || got["last_run_at"] == nil {
			t.Errorf("last run: %v %v", got["last_status"], got["last_run_at"])
		}
	}
}

// Bodies stream both ways: the function echoes each chunk of the request
// as it arrives, and the client sends the next chunk only once it has read
// the echo of the last one, so neither side can be buffered whole.
func TestStreamedBodies(t *testing.T) {
	e := start(t)
	su := admin(t, e.App)
	echo := create(t, e.App, su.Token, map[string]any{"name": fname("stream"), "invoke_policy": "public", "code": `export default async (req) => {
  const reader = req.body.getReader();
  return new Response(new ReadableStream({
    async pull(c) {
      const { value, done } = await reader.read();
      if (done) c.close(); else c.enqueue(new TextEncoder().encode("echo:" + new TextDecoder().decode(value) + "\n"));
    },
  }), { headers: { "content-type": "text/plain" } });
};`})["name"].(string)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", e.URL()+"/api/v1/functions/invoke/"+echo, pr)
	req.Header.Set("apikey", testkit.AnonKey)
	type result struct {
		resp *http.Response
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		got <- result{resp, err}
	}()
	if _, err := pw.Write([]byte("one")); err != nil {
		t.Fatal(err)
	}
	var res result
	select {
	case res = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("no response head within 20s while the request body is still open")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	defer res.resp.Body.Close()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(res.resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for i, chunk := range []string{"one", "two", "three"} {
		if i > 0 {
			if _, err := pw.Write([]byte(chunk)); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case line := <-lines:
			if line != "echo:"+chunk {
				t.Fatalf("line %q, want echo:%s", line, chunk)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("the echo of %q did not come within 20s: a body is buffered", chunk)
		}
	}
	pw.Close()
	if _, ok := <-lines; ok {
		t.Error("more lines after the request ended")
	}
}

// A large body goes through intact both ways.
func TestLargeBodies(t *testing.T) {
	e := start(t)
	su := admin(t, e.App)
	sum := create(t, e.App, su.Token, map[string]any{"name": fname("sha"), "invoke_policy": "public", "code": `export default async (req) => {
  const buf = new Uint8Array(await req.arrayBuffer());
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
  return { size: buf.length, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("") };
};`})["name"].(string)
	big := create(t, e.App, su.Token, map[string]any{"name": fname("big"), "invoke_policy": "public", "code": `export default () => {
  let n = 0;
  return new Response(new ReadableStream({
    pull(c) { if (n++ < 160) c.enqueue(new Uint8Array(64 * 1024).fill(n % 256)); else c.close(); },
  }));
};`})["name"].(string)
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MB
	want := sha256.Sum256(body)
	resp, err := http.Post(e.URL()+"/api/v1/functions/invoke/"+sum+"?apikey="+testkit.AnonKey, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), hex.EncodeToString(want[:])) || !strings.Contains(string(b), fmt.Sprint(len(body))) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	resp, err = http.Get(e.URL() + "/api/v1/functions/invoke/" + big + "?apikey=" + testkit.AnonKey)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(b) != 160*64*1024 || b[0] != 1 || b[len(b)-1] != 160 {
		t.Fatalf("%d: %d bytes", resp.StatusCode, len(b))
	}
}

// callBackend calls this API as the function's owner, and only this API.
func TestCallBackend(t *testing.T) {
	e := start(t)
	su := admin(t, e.App)
	user := newUser(t, e.App, "cb@example.com")
	me := create(t, e.App, su.Token, map[string]any{"name": fname("me"), "code": `export default async (req, ctx) => {
  const me = await ctx.callBackend("/api/v1/users/me");
  let elsewhere = "allowed";
  try { await ctx.callBackend("https://example.com/steal"); } catch (e) { elsewhere = e.message; }
  let denied = "";
  try { await ctx.callBackend("/api/v1/functions/` + missingID + `"); } catch (e) { denied = e.status; }
  return { me: me.id, superuser: me.is_superuser, elsewhere, denied };
};`})["name"].(string)
	r := e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/functions/invoke/" + me, Token: user.Token}).Expect(t, 200).Map(t)
	if msg := testkit.Match(map[string]any{"me": su.ID, "superuser": true, "denied": 404}, r); msg != "" {
		t.Fatal(msg)
	}
	if !strings.Contains(r["elsewhere"].(string), "only") {
		t.Errorf("callBackend to another origin: %v", r["elsewhere"])
	}
}

// The JS SDK's functions client (create, list, get, update, invoke,
// delete) and the Python SDK's invoke_function, as they call the API.
func TestSDKs(t *testing.T) {
	e := start(t)
	su := admin(t, e.App)
	name := fname("sdk")
	// functions.createFunction: the SDK's request shape.
	f := e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/functions", Token: su.Token, Body: map[string]any{
		"name": name, "description": "from the SDK", "code": `export default async (req, ctx) => ({ got: await req.json(), greeting: ctx.env.GREETING, legacy: ctx.GREETING })`,
		"trigger_type": "http", "trigger_config": map[string]any{"method": []string{"POST"}},
		"environment_variables": map[string]string{"GREETING": "hi"}, "is_active": true,
	}}).Expect(t, 201).Map(t)
	id := f["id"].(string)
	e.Get(t, "/api/v1/functions", su.Token).Expect(t, 200)
	e.Get(t, "/api/v1/functions/"+id, su.Token).Expect(t, 200)
	e.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/functions/" + id, Token: su.Token, Body: map[string]any{"description": "updated", "is_active": true}}).Expect(t, 200)
	// functions.invoke(name, payload): POST with JSON and Content-Type.
	r := e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/functions/invoke/" + name, Token: su.Token, Body: map[string]any{"n": 1},
		Headers: map[string]string{"Content-Type": "application/json"}}).Expect(t, 200).Map(t)
	if msg := testkit.Match(map[string]any{"got": map[string]any{"n": 1}, "greeting": "hi", "legacy": "hi"}, r); msg != "" {
		t.Fatal(msg)
	}
	// Python: client.invoke_function(name, payload).
	r = e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/functions/" + name, Token: su.Token, Body: map[string]any{"n": 2}}).Expect(t, 200).Map(t)
	if msg := testkit.Match(map[string]any{"got": map[string]any{"n": 2}}, r); msg != "" {
		t.Fatal(msg)
	}
	e.Do(t, testkit.Req{Method: "DELETE", Path: "/api/v1/functions/" + id, Token: su.Token}).Expect(t, 204)
	e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/functions/invoke/" + name, Token: su.Token}).Expect(t, 404)
}

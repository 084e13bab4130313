package functions_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/selfdb/selfdb/platform/testkit"
)

// A secret env var is the function's alone: never returned unmasked by the
// API, never in the change log, never in the server's logs (at debug level,
// access log on), masked in run logs and error messages, and invisible to
// other functions.
func TestSecrets(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	e := &env{}
	e.App = testkit.Start(t, append(options(t, e, "ACCESS_LOG", "true", "LOG_LEVEL", "debug"), testkit.Logger(zap.New(core)))...)
	waitRuntime(t, e.rt)
	su := admin(t, e.App)
	const secret = "tops3cret-" + "value-4711"
	owner := create(t, e.App, su.Token, map[string]any{"name": fname("owner"), "invoke_policy": "public", "code": `export default async (req, ctx) => {
  const s = ctx.env.API_SECRET;
  console.log("the secret is", s);
  console.error(JSON.stringify({ s }));
  await Deno.stdout.write(new TextEncoder().encode("raw " + s + "\n"));
  if (new URL(req.url).searchParams.has("throw")) throw new Error("failed with " + s);
  return { length: s.length, plain: ctx.env.PLAIN, keys: Object.keys(ctx.env).sort() };
};`})
	id := owner["id"].(string)
	nosy := create(t, e.App, su.Token, map[string]any{"name": fname("nosy"), "invoke_policy": "public", "code": `export default async (req, ctx) =>
  ({ env: ctx.env, ctx: Object.keys(ctx), global: Object.keys(globalThis).filter((k) => /secret/i.test(k)) });`})["name"].(string)
	e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/functions/" + id + "/env", Token: su.Token, Body: map[string]any{"key": "API_SECRET", "value": secret}}).Expect(t, 201)
	e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/functions/" + id + "/env", Token: su.Token, Body: map[string]any{"key": "PLAIN", "value": "open", "is_secret": false}}).Expect(t, 201)

	r := e.Get(t, "/api/v1/functions/invoke/"+owner["name"].(string), "").Expect(t, 200).Map(t)
	if fmt.Sprint(r) != fmt.Sprint(map[string]any{"length": float64(len(secret)), "plain": "open", "keys": []any{"API_SECRET", "PLAIN"}}) {
		t.Fatalf("the function saw %v", r)
	}
	failed := e.Get(t, "/api/v1/functions/invoke/"+owner["name"].(string)+"?throw", "").Expect(t, 500)
	n := e.Get(t, "/api/v1/functions/invoke/"+nosy, "").Expect(t, 200)
	if strings.Contains(string(n.Body), "API_SECRET") || !strings.Contains(string(n.Body), `"env":{}`) {
		t.Fatalf("another function sees %s", n.Body)
	}

	var seen []string
	seen = append(seen, string(failed.Body))
	for _, path := range []string{"", "/" + id, "/" + id + "/env", "/" + id + "/versions"} {
		seen = append(seen, string(e.Get(t, "/api/v1/functions"+path, su.Token).Expect(t, 200).Body))
	}
	var runLogs string
	for _, run := range runs(t, e.App, su.Token, id, 2) {
		runLogs += fmt.Sprint(run["logs"], run["error"])
	}
	if !strings.Contains(runLogs, "the secret is ********") || !strings.Contains(runLogs, "raw ********") {
		t.Errorf("run logs do not show the masked secret: %s", runLogs)
	}
	seen = append(seen, runLogs)
	var changeLog string
	if err := e.DB.QueryRowContext(context.Background(),
		`SELECT coalesce(string_agg(coalesce(row::text, '') || coalesce(old_row::text, ''), ' '), '') FROM selfdb.change_log WHERE table_name LIKE 'selfdb.function%'`).Scan(&changeLog); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(changeLog, "API_SECRET") || strings.Contains(changeLog, `"value"`) {
		t.Errorf("the change log has no env event, or has its value: %.300s", changeLog)
	}
	seen = append(seen, changeLog)
	for _, entry := range logs.All() {
		line := entry.Message
		for k, v := range entry.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		seen = append(seen, line)
	}
	if logs.Len() == 0 {
		t.Fatal("no server logs observed")
	}
	for _, s := range seen {
		if strings.Contains(s, secret) || strings.Contains(s, "value-4711") {
			t.Fatalf("the secret leaked: %.500s", s)
		}
	}
	if !strings.Contains(string(failed.Body), "failed with ********") {
		t.Errorf("error body %s", failed.Body)
	}
}

// Updating code, env or activity on one instance takes effect on the next
// call on every instance, without a restart.
func TestChangesReachEveryInstance(t *testing.T) {
	a, b := startTwo(t)
	su := admin(t, a.App)
	f := create(t, a.App, su.Token, map[string]any{"name": fname("ver"), "invoke_policy": "public",
		"code": `export default (req, ctx) => ({ v: 1, mode: ctx.env.MODE ?? null });`})
	id, name := f["id"].(string), f["name"].(string)
	call := func(e *env) string {
		return string(e.Get(t, "/api/v1/functions/invoke/"+name, "").Expect(t, 200).Body)
	}
	for _, e := range []*env{a, b} {
		if got := call(e); got != `{"v":1,"mode":null}` {
			t.Fatalf("v1: %s", got)
		}
	}
	for v := 2; v <= 4; v++ {
		a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/functions/" + id, Token: su.Token,
			Body: map[string]any{"code": fmt.Sprintf(`export default (req, ctx) => ({ v: %d, mode: ctx.env.MODE ?? null });`, v)}}).Expect(t, 200)
		for _, e := range []*env{b, a} {
			if got := call(e); got != fmt.Sprintf(`{"v":%d,"mode":null}`, v) {
				t.Fatalf("after saving v%d: %s", v, got)
			}
		}
	}
	env := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/functions/" + id + "/env", Token: su.Token, Body: map[string]any{"key": "MODE", "value": "blue"}}).Expect(t, 201).Map(t)
	if got := call(b); got != `{"v":4,"mode":"blue"}` {
		t.Fatalf("after adding env: %s", got)
	}
	a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/functions/" + id + "/env/" + env["id"].(string), Token: su.Token, Body: map[string]any{"value": "green"}}).Expect(t, 200)
	if got := call(b); got != `{"v":4,"mode":"green"}` {
		t.Fatalf("after changing env: %s", got)
	}
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/functions/" + id + "/versions/1/restore", Token: su.Token}).Expect(t, 200)
	if got := call(b); got != `{"v":1,"mode":"green"}` {
		t.Fatalf("after restoring v1: %s", got)
	}
	a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/functions/" + id, Token: su.Token, Body: map[string]any{"is_active": false}}).Expect(t, 200)
	b.Get(t, "/api/v1/functions/invoke/"+name, "").Expect(t, 404)
}

// Deleting a user deletes the functions they own, runs and all.
func TestOwnerDeleted(t *testing.T) {
	e := start(t)
	su := admin(t, e.App)
	owner := newUser(t, e.App, "fn-owner@example.com")
	e.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/users/" + owner.ID, Token: su.Token, Body: map[string]any{"is_superuser": true}}).Expect(t, 200)
	f := create(t, e.App, owner.Token, map[string]any{"name": fname("owned"), "code": helloCode, "invoke_policy": "public"})
	if f["owner_id"] != owner.ID {
		t.Fatalf("owner %v, want %s", f["owner_id"], owner.ID)
	}
	e.Get(t, "/api/v1/functions/invoke/"+f["name"].(string), "").Expect(t, 200)
	runs(t, e.App, su.Token, f["id"].(string), 1)
	e.Do(t, testkit.Req{Method: "DELETE", Path: "/api/v1/users/" + owner.ID, Token: su.Token}).Expect(t, 200)
	e.Get(t, "/api/v1/functions/"+f["id"].(string), su.Token).Expect(t, 404)
	var n int
	if err := e.DB.QueryRowContext(context.Background(), "SELECT count(*) FROM selfdb.function_runs WHERE function_id = ?", uuid.MustParse(f["id"].(string))).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d runs left (%v)", n, err)
	}
}

// While memcached hangs, calls still work and a change made meanwhile is
// seen by the next call on every instance, during the outage and after it.
func TestChangesWhileMemcachedHangs(t *testing.T) {
	p := testkit.StartProxy(t, testkit.MemcachedAddr())
	a, b := startTwo(t, "MEMCACHED_ADDR", p.Addr)
	su := admin(t, a.App)
	f := create(t, a.App, su.Token, map[string]any{"name": fname("mc"), "invoke_policy": "public", "code": `export default () => ({ v: 1 });`})
	call := func(e *env) string {
		return string(e.Get(t, "/api/v1/functions/invoke/"+f["name"].(string), "").Expect(t, 200).Body)
	}
	for _, e := range []*env{a, b, a, b} {
		if got := call(e); got != `{"v":1}` {
			t.Fatalf("v1: %s", got)
		}
	}
	p.Hang()
	a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/functions/" + f["id"].(string), Token: su.Token, Body: map[string]any{"code": `export default () => ({ v: 2 });`}}).Expect(t, 200)
	for _, e := range []*env{b, a} {
		if got := call(e); got != `{"v":2}` {
			t.Fatalf("during the outage: %s", got)
		}
	}
	p.Heal()
	for range 5 {
		for _, e := range []*env{b, a} {
			if got := call(e); got != `{"v":2}` {
				t.Fatalf("after the outage: %s", got)
			}
		}
	}
}

// A change saved on instance A while memcached stalls (so A's invalidation
// never reaches it) is seen on instance B, which did not notice the stall,
// as soon as B hears it in the change log: B does not run the old code from
// memcached's stale copy for CACHE_TTL.
func TestChangeDuringAMemcachedStallReachesOtherInstances(t *testing.T) {
	p := testkit.StartProxy(t, testkit.MemcachedAddr())
	a, b := startTwo(t, "MEMCACHED_ADDR", p.Addr)
	su := admin(t, a.App)
	f := create(t, a.App, su.Token, map[string]any{"name": fname("stall"), "invoke_policy": "public", "code": `export default () => ({ v: 1 });`})
	path := "/api/v1/functions/invoke/" + f["name"].(string)
	for range 3 {
		b.Get(t, path, "").Expect(t, 200)
	}
	p.Hang()
	a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/functions/" + f["id"].(string), Token: su.Token,
		Body: map[string]any{"code": `export default () => ({ v: 2 });`, "invoke_policy": "superuser"}}).Expect(t, 200)
	time.Sleep(500 * time.Millisecond)
	p.Heal()
	deadline := time.Now().Add(time.Second)
	for b.Get(t, path, "").Status != 401 {
		if time.Now().After(deadline) {
			t.Fatalf("instance B still runs the function for anon 1s after its policy was tightened: %s", b.Get(t, path, ""))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := string(b.Get(t, path, su.Token).Expect(t, 200).Body); got != `{"v":2}` {
		t.Fatalf("B runs %s", got)
	}
}

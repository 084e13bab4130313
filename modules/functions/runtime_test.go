package functions_test

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/selfdb/selfdb/modules/functions"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/testkit"
)

// Killing the Deno process by hand: the call in flight gets a 503 (it does
// not hang), the runtime comes back, and the next call succeeds.
func TestRuntimeKilled(t *testing.T) {
	e := start(t)
	su := admin(t, e.App)
	slow := create(t, e.App, su.Token, map[string]any{"name": fname("slow"), "invoke_policy": "public", "timeout_ms": 60000,
		"code": `export default async () => { await new Promise((r) => setTimeout(r, 60000)); return { late: true }; };`})["name"].(string)
	fine := create(t, e.App, su.Token, map[string]any{"name": fname("fine"), "invoke_policy": "public", "code": helloCode})["name"].(string)
	e.Get(t, "/api/v1/functions/invoke/"+fine, "").Expect(t, 200)

	inFlight := make(chan *testkit.Response, 1)
	go func() { inFlight <- e.Get(t, "/api/v1/functions/invoke/"+slow, "") }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := e.rt.Stats(context.Background())
		if err == nil && st.Running > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow run did not start within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pid := e.rt.PID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-inFlight:
		if r.Status != 503 || !strings.Contains(string(r.Body), "functions_unavailable") {
			t.Fatalf("the call in flight got %s, want 503", r)
		}
		if r.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the call in flight hung after the runtime was killed")
	}
	// The next call after the restart succeeds (calls while it restarts
	// answer 503, which the in-flight case above covers).
	deadline = time.Now().Add(30 * time.Second)
	for e.rt.PID() == pid || !e.rt.Available() {
		if time.Now().After(deadline) {
			t.Fatal("the runtime did not restart within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.Get(t, "/api/v1/functions/invoke/"+fine, "").Expect(t, 200)
	if got := e.rt.PID(); got == pid || got == 0 {
		t.Fatalf("runtime pid %d after killing %d", got, pid)
	}
	// The killed run is recorded as such.
	var fs []map[string]any
	e.Get(t, "/api/v1/functions", su.Token).JSON(t, &fs)
	for _, f := range fs {
		if f["name"] == slow {
			if r := runs(t, e.App, su.Token, f["id"].(string), 1)[0]; r["status"] != "unavailable" {
				t.Errorf("killed run recorded as %v", r)
			}
		}
	}
	m := e.Get(t, "/metrics", "")
	for _, want := range []string{"selfdb_functions_runtime_starts_total 2", "selfdb_functions_runtime_up 1", `selfdb_function_runs_total{function="` + fine + `",status="success",trigger="http"} 2`} {
		if !strings.Contains(string(m.Body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// Without a Deno binary the server starts and manages functions; calls
// answer 503 naming the fix; code saved meanwhile is read once a runtime
// starts (here: another instance's).
func TestWithoutDeno(t *testing.T) {
	e := &env{}
	e.App = testkit.Start(t, options(t, e, "DENO_PATH", "/nonexistent/deno")...)
	su := admin(t, e.App)
	name := fname("later")
	f := create(t, e.App, su.Token, map[string]any{"name": name, "invoke_policy": "public",
		"code": "export const triggers = [{ type: 'event', event: 'later' }, { type: 'http' }];\nexport default () => ({ ok: true });\n"})
	if ct := f["code_triggers"].([]any); len(ct) != 0 {
		t.Fatalf("code triggers known without a runtime: %v", ct)
	}
	r := e.Get(t, "/api/v1/functions/invoke/"+name, "").Expect(t, 503)
	if msg := testkit.Match(map[string]any{"code": "functions_unavailable"}, r.Map(t)); msg != "" {
		t.Fatal(msg)
	}
	for _, fix := range []string{"DENO_PATH", "make run", "/nonexistent/deno"} {
		if !strings.Contains(string(r.Body), fix) {
			t.Errorf("503 does not name %q: %s", fix, r.Body)
		}
	}
	e.Get(t, "/readyz", "").Expect(t, 200)

	other := start(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := other.Get(t, "/api/v1/functions/"+f["id"].(string), su.Token).Expect(t, 200).Map(t)
		if len(got["code_triggers"].([]any)) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("code saved without a runtime not analyzed within 20s: %v", got["code_triggers"])
		}
		time.Sleep(50 * time.Millisecond)
	}
	other.Get(t, "/api/v1/functions/invoke/"+name, "").Expect(t, 200)
}

// Every variable of the module is documented in the example file, and bad
// values are refused naming the variable.
func TestConfig(t *testing.T) {
	b, err := os.ReadFile("../../configs/selfdb.example.env")
	if err != nil {
		t.Fatal(err)
	}
	if problems := config.Undocumented(string(b), config.VariablesOf(functions.Config{})); len(problems) > 0 {
		t.Fatal(strings.Join(problems, "\n"))
	}
	for name, val := range map[string]string{"FUNCTIONS_MEMORY_MB": "8", "FUNCTIONS_LOG_RETENTION": "1s", "FUNCTIONS_IDLE_TIMEOUT": "soon"} {
		env := testkit.TestEnv(t)
		env[name] = val
		cfg, err := config.Parse(env)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := functions.LoadConfig(cfg); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v does not name the variable", name, val, err)
		}
	}
}

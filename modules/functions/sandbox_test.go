package functions_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selfdb/selfdb/platform/testkit"
)

// sandboxCode misbehaves as ?mode= says, and answers {ok: true} otherwise.
const sandboxCode = `export default async (req) => {
  switch (new URL(req.url).searchParams.get("mode")) {
    case "loop": while (true) {}
    case "heap": { const a = new Array(2 ** 27).fill(1.5); return { n: a.length }; }
    case "grow": { const a = []; while (true) a.push(new Array(1e6).fill(1.5)); }
    case "buffer": { const b = new Uint8Array(2 ** 30); return { n: b.length }; }
    case "env": return { home: Deno.env.get("HOME") };
    case "process-env": return { home: process.env.HOME };
    case "read": return { passwd: await Deno.readTextFile("/etc/passwd") };
    case "command": return { out: await new Deno.Command("/bin/sh", { args: ["-c", "id"] }).output() };
    case "command-on-path": return { out: await new Deno.Command("ls").output() };
    case "kill": Deno.kill(Deno.pid, "SIGKILL"); return {};
    case "exit": Deno.exit(1); return {};
    case "stdout": await Deno.stdout.write(new TextEncoder().encode("not a record\n")); return { ok: "wrote" };
    case "late-throw": setTimeout(() => { throw new Error("after the run"); }, 1); return { ok: "later" };
    case "unhandled": Promise.reject(new Error("nobody waits")); return { ok: "later" };
  }
  return { ok: true };
};`

// An endless loop, 1 GB allocations, and reaching for the environment,
// files, subprocesses or the process itself each fail their run only: the
// next call of the same function and of another one succeed, and the
// runtime process is the same throughout.
func TestSandbox(t *testing.T) {
	e := start(t)
	su := admin(t, e.App)
	box := create(t, e.App, su.Token, map[string]any{"name": fname("box"), "code": sandboxCode, "invoke_policy": "public", "timeout_ms": 1500})["name"].(string)
	fine := create(t, e.App, su.Token, map[string]any{"name": fname("fine"), "code": sandboxCode, "invoke_policy": "public"})["name"].(string)
	call := func(name, mode string) *testkit.Response {
		return e.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/functions/invoke/" + name + "?mode=" + mode})
	}
	call(box, "ok").Expect(t, 200)
	pid := e.rt.PID()

	for _, c := range []struct {
		mode   string
		status int
		want   string
	}{
		{"loop", 504, `"Function execution timed out"`},
		{"heap", 504, `"Function execution timed out"`},
		{"grow", 504, `"Function execution timed out"`},
		{"buffer", 500, "Memory limit exceeded"},
		{"env", 500, "Requires env access"},
		{"process-env", 500, "Requires env access"},
		{"read", 500, "Requires read access"},
		{"command", 500, "Requires run access"},
		// Without PATH there is nothing to find, let alone run.
		{"command-on-path", 500, "Failed to spawn"},
		{"kill", 500, "Deno.kill is not available"},
		{"exit", 500, "Deno.exit is not available"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			r := call(box, c.mode)
			if r.Status != c.status || !strings.Contains(string(r.Body), c.want) {
				t.Fatalf("%s: %d %s, want %d with %s", c.mode, r.Status, r.Body, c.status, c.want)
			}
			if strings.Contains(string(r.Body), "root:") {
				t.Fatalf("read /etc/passwd: %s", r.Body)
			}
			call(box, "ok").Expect(t, 200)
			call(fine, "ok").Expect(t, 200)
		})
	}
	if got := e.rt.PID(); got != pid {
		t.Fatalf("the runtime restarted (pid %d, then %d)", pid, got)
	}

	// Writes to the process's stdout land in the run's log.
	call(box, "stdout").Expect(t, 200)
	// Errors thrown outside a run end the isolate, not the process.
	for _, mode := range []string{"late-throw", "unhandled"} {
		call(box, mode).Expect(t, 200)
		time.Sleep(50 * time.Millisecond)
		call(box, "ok").Expect(t, 200)
		call(fine, "ok").Expect(t, 200)
	}
	if got := e.rt.PID(); got != pid {
		t.Fatalf("the runtime restarted after errors outside a run (pid %d, then %d)", pid, got)
	}

	// While one function spins, another is served.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		call(box, "loop")
	}()
	time.Sleep(100 * time.Millisecond)
	for range 5 {
		call(fine, "ok").Expect(t, 200)
	}
	wg.Wait()

	var fs []map[string]any
	e.Get(t, "/api/v1/functions", su.Token).JSON(t, &fs)
	for _, f := range fs {
		if f["name"] != box {
			continue
		}
		rs := runs(t, e.App, su.Token, f["id"].(string), 29)
		statuses := map[string]int{}
		logged := false
		for _, r := range rs {
			statuses[r["status"].(string)]++
			logged = logged || strings.Contains(r["logs"].(string), "not a record")
		}
		if statuses["timeout"] != 4 || statuses["error"] != 8 || statuses["success"] != 17 {
			t.Errorf("run statuses %v, want 4 timeouts, 8 errors and 17 successes", statuses)
		}
		if !logged {
			t.Error("a write to stdout is not in the run's log")
		}
	}
}

package functions_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// A run's log is capped at 64 KB; runs older than FUNCTIONS_LOG_RETENTION
// are pruned (the pruner runs at start, then periodically).
func TestRunLogsCappedAndPruned(t *testing.T) {
	e := start(t)
	su := admin(t, e.App)
	f := create(t, e.App, su.Token, map[string]any{"name": fname("chatty"), "invoke_policy": "public", "code": `export default () => {
  for (let i = 0; i < 5000; i++) console.log("line", i, "x".repeat(40));
  return { ok: true };
};`})
	id := f["id"].(string)
	e.Get(t, "/api/v1/functions/invoke/"+f["name"].(string), "").Expect(t, 200)
	logs := runs(t, e.App, su.Token, id, 1)[0]["logs"].(string)
	if len(logs) > 66<<10 || !strings.Contains(logs, "[logs truncated at 64 KB]") || !strings.HasPrefix(logs, "line 0 ") {
		t.Fatalf("log of %d bytes, ending %q", len(logs), logs[max(0, len(logs)-80):])
	}

	old := uuid.New()
	sql(t, e.App, `INSERT INTO selfdb.function_runs (id, function_id, version_number, trigger, status, duration_ms, started_at)
VALUES (?, ?, 1, 'http', 'success', 1, now() - interval '2 hours')`, old, uuid.MustParse(id))
	start(t, "FUNCTIONS_LOG_RETENTION", "1h")
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := e.DB.QueryRowContext(context.Background(), "SELECT count(*) FROM selfdb.function_runs WHERE function_id = ?", uuid.MustParse(id)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs left 20s after a pruner with a 1h retention started, want the recent one", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Concurrent runs of one function share its isolate; each run's log holds
// its own console output only.
func TestLogsPerRun(t *testing.T) {
	e := start(t)
	su := admin(t, e.App)
	f := create(t, e.App, su.Token, map[string]any{"name": fname("interleaved"), "invoke_policy": "public", "code": `export default async (req) => {
  const id = new URL(req.url).searchParams.get("id");
  for (let i = 0; i < 5; i++) {
    console.log("run", id, "step", i);
    await new Promise((r) => setTimeout(r, 3));
  }
  return { id };
};`})
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.Get(t, fmt.Sprintf("/api/v1/functions/invoke/%s?id=%d", f["name"], i), "").Expect(t, 200)
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, r := range runs(t, e.App, su.Token, f["id"].(string), 10) {
		lines := strings.Split(r["logs"].(string), "\n")
		id := strings.Fields(lines[0])[1]
		if len(lines) != 5 || seen[id] {
			t.Fatalf("run log %q", r["logs"])
		}
		seen[id] = true
		for i, l := range lines {
			if l != fmt.Sprintf("run %s step %d", id, i) {
				t.Fatalf("run %s has a line of another run: %q", id, r["logs"])
			}
		}
	}
}

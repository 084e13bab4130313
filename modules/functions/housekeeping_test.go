package functions_test

import (
	"context"
	"strings"
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

package functions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selfdb/selfdb/platform/testkit"
)

// successLogs returns the logs of a function's successful runs, oldest first.
func successLogs(rs []map[string]any, trigger string) []string {
	var out []string
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i]["status"] == "success" && rs[i]["trigger"] == trigger {
			out = append(out, rs[i]["logs"].(string))
		}
	}
	return out
}

// A */1 schedule with two instances runs each minute once, not twice, and
// minutes missed while no instance ran fire once. The schedulers tick with
// made-up times in the year 2100; the schedule was claimed up to just
// before, so the real clock's ticks find nothing due.
func TestScheduleRunsOnceAcrossInstances(t *testing.T) {
	a, b := startTwo(t)
	su := admin(t, a.App)
	f := create(t, a.App, su.Token, map[string]any{"name": fname("cron"), "code": `export const triggers = [{ type: "schedule", cron: "*/1 * * * *", name: "minutely" }];
export default async (req) => {
  const body = await req.json();
  console.log(body.scheduled_at, req.headers.get("x-trigger-type"), req.headers.get("x-schedule-name"));
  return { success: true };
};`})
	id := f["id"].(string)
	sql(t, a.App, "UPDATE selfdb.function_schedules SET last_at = '2099-12-31T23:59:00Z' WHERE function_id = ?", id)

	t0 := time.Date(2100, 1, 1, 0, 0, 30, 0, time.UTC)
	ctx := context.Background()
	tick := func(now time.Time) int64 {
		var started atomic.Int64
		var wg sync.WaitGroup
		for _, s := range []*env{a, b, a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := s.sched.Tick(ctx, now)
				if err != nil {
					t.Error(err)
				}
				started.Add(int64(n))
			}()
		}
		wg.Wait()
		return started.Load()
	}
	if n := tick(t0); n != 1 {
		t.Fatalf("00:00 started %d runs across two instances, want 1", n)
	}
	if n := tick(t0.Add(20 * time.Second)); n != 0 {
		t.Fatalf("00:00 ran again %d times", n)
	}
	if n := tick(t0.Add(time.Minute)); n != 1 {
		t.Fatalf("00:01 started %d runs, want 1", n)
	}
	// Ten minutes pass with every instance down: one run, for the latest.
	if n := tick(t0.Add(11 * time.Minute)); n != 1 {
		t.Fatalf("after 10 missed minutes %d runs, want 1", n)
	}
	got := successLogs(runs(t, a.App, su.Token, id, 3), "schedule")
	want := []string{"2100-01-01T00:00:00Z schedule minutely", "2100-01-01T00:01:00Z schedule minutely", "2100-01-01T00:11:00Z schedule minutely"}
	slices.Sort(got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("scheduled runs %q, want %q", got, want)
	}
}

// A database trigger gets each insert, update and delete of its table in
// order, each once, with the realtime change payload and X-Event-Id; a
// change the function throws on comes again after a back-off and holds the
// ones after it back. Two instances share the work.
func TestDatabaseTrigger(t *testing.T) {
	a, b := startTwo(t)
	su := admin(t, a.App)
	table := fmt.Sprintf("fn_items_%d", time.Now().UnixNano()%1e9)
	sql(t, a.App, "CREATE TABLE "+table+" (id int PRIMARY KEY, v text)")
	f := create(t, b.App, su.Token, map[string]any{"name": fname("dbt"), "code": `const failed = new Set();
export const triggers = [{ type: "database", table: "` + table + `" }];
export default async (req) => {
  const c = await req.json();
  const id = (c.data ?? c.old_data).id;
  if ((c.data?.v === "fail") && !failed.has(c.event_id)) {
    failed.add(c.event_id);
    throw new Error("not now");
  }
  const keys = Object.keys(c).sort().join(",");
  console.log([c.operation, id, c.data?.v ?? "-", c.old_data?.v ?? "-", String(c.event_id) === req.headers.get("x-event-id"),
    req.headers.get("x-database-channel"), c.type, keys].join(" "));
  return { success: true };
};`})
	id := f["id"].(string)
	for _, q := range []string{
		"INSERT INTO " + table + " VALUES (1, 'a'), (2, 'b')",
		"UPDATE " + table + " SET v = 'c' WHERE id = 2",
		"DELETE FROM " + table + " WHERE id = 1",
		"INSERT INTO " + table + " VALUES (3, 'fail')",
		"INSERT INTO " + table + " VALUES (4, 'd')",
	} {
		sql(t, a.App, q)
	}
	rs := runs(t, a.App, su.Token, id, 7)
	tail := fmt.Sprintf(" true %s_changes database_change data,event_id,old_data,operation,table,type", table)
	want := []string{"INSERT 1 a -", "INSERT 2 b -", "UPDATE 2 c b", "DELETE 1 - a", "INSERT 3 fail -", "INSERT 4 d -"}
	for i := range want {
		want[i] += tail
	}
	got := successLogs(rs, "database")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("deliveries\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var failed, retried map[string]any
	for _, r := range rs {
		if r["status"] == "error" {
			failed = r
		} else if strings.HasPrefix(r["logs"].(string), "INSERT 3") {
			retried = r
		}
	}
	if failed == nil || retried == nil || failed["event_id"] != retried["event_id"] || !strings.Contains(failed["error"].(string), "not now") {
		t.Fatalf("the failed change was not retried: %v / %v", failed, retried)
	}
	if len(rs) != 7 {
		t.Errorf("%d runs, want 7 (each change once, one retry)", len(rs))
	}
}

// An event reaches every function that listens to it, whether a superuser
// or a function (callBackend) emits it.
func TestEvents(t *testing.T) {
	e := start(t)
	su := admin(t, e.App)
	event := "order.created." + fname("e")
	listener := `export const triggers = [{ type: "event", event: "` + event + `" }];
export default async (req) => { console.log(req.headers.get("x-event-name"), JSON.stringify(await req.json())); return { success: true }; };`
	l1 := create(t, e.App, su.Token, map[string]any{"name": fname("l1"), "code": listener})
	l2 := create(t, e.App, su.Token, map[string]any{"name": fname("l2"), "code": listener})
	create(t, e.App, su.Token, map[string]any{"name": fname("deaf"), "code": helloCode})
	create(t, e.App, su.Token, map[string]any{"name": fname("off"), "code": listener, "is_active": false})
	emitter := create(t, e.App, su.Token, map[string]any{"name": fname("emitter"), "code": `export default async (req, ctx) =>
  await ctx.callBackend("/api/v1/functions/events/` + event + `", { method: "POST", body: { id: 8 } });`})["name"].(string)

	r := e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/functions/events/" + event, Token: su.Token, Body: map[string]any{"id": 7}}).Expect(t, 202).Map(t)
	names := []string{l1["name"].(string), l2["name"].(string)}
	if fmt.Sprint(r["functions"]) != fmt.Sprint(names) {
		t.Fatalf("delivered to %v, want %v", r["functions"], names)
	}
	e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/functions/invoke/" + emitter, Token: su.Token}).Expect(t, 200)
	for _, l := range []map[string]any{l1, l2} {
		got := successLogs(runs(t, e.App, su.Token, l["id"].(string), 2), "event")
		slices.Sort(got)
		want := []string{event + ` {"id":7}`, event + ` {"id":8}`}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s got %q, want %q", l["name"], got, want)
		}
	}
}

// A once trigger runs until it returns {success: true}, then never again.
func TestOnce(t *testing.T) {
	e := start(t)
	su := admin(t, e.App)
	f := create(t, e.App, su.Token, map[string]any{"name": fname("once"), "code": `export const runOnce = true;
export default async (req) => {
  const { attempt } = await req.json();
  console.log("attempt", attempt, req.headers.get("x-trigger-type"));
  return { success: attempt >= 2 };
};`})
	id := f["id"].(string)
	rs := runs(t, e.App, su.Token, id, 2)
	time.Sleep(3 * time.Second) // two more ticks of the once runner: nothing
	var all []map[string]any
	e.Get(t, "/api/v1/functions/"+id+"/logs", su.Token).Expect(t, 200).JSON(t, &all)
	if len(all) != 2 {
		t.Fatalf("%d runs, want 2: %v", len(all), all)
	}
	if all[0]["logs"] != "attempt 2 once" || rs[1]["logs"] != "attempt 1 once" {
		t.Fatalf("runs %v", all)
	}
	var done bool
	if err := e.DB.QueryRowContext(context.Background(), "SELECT once_done_at IS NOT NULL FROM selfdb.function_state WHERE function_id = ?", id).Scan(&done); err != nil || !done {
		t.Fatalf("completion not stored: %v %v", done, err)
	}
}

// Cron expressions: five fields with ranges, lists and steps, in UTC.
func TestCronTriggers(t *testing.T) {
	e := start(t)
	su := admin(t, e.App)
	for _, c := range []struct {
		cron string
		ok   bool
	}{
		{"*/5 * * * *", true}, {"0 9-17 * * 1-5", true}, {"0,30 8,20 1 1,7 *", true}, {"15 */2 1-15/3 * SUN", true},
		{"* * * *", false}, {"* * * * * *", false}, {"60 * * * *", false}, {"@every 5m", false}, {"", false},
	} {
		r := e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/functions", Token: su.Token, Body: map[string]any{"name": fname("c"), "code": helloCode,
			"triggers": []any{map[string]any{"type": "schedule", "cron": c.cron}}}})
		if (r.Status == 201) != c.ok {
			t.Errorf("cron %q: %s", c.cron, r)
		}
		if r.Status == 201 {
			var m map[string]any
			_ = json.Unmarshal(r.Body, &m)
			var n int
			if err := e.DB.QueryRowContext(context.Background(), "SELECT count(*) FROM selfdb.function_schedules WHERE function_id = ? AND cron = ?", m["id"], c.cron).Scan(&n); err != nil || n != 1 {
				t.Errorf("cron %q has %d schedule rows (%v)", c.cron, n, err)
			}
		}
	}
}

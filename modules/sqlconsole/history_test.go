package sqlconsole_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/testkit"
)

// The original admin UI posts each query to /sql/history after running it
// through /sql/query, which records it too: a report matching a run the
// server recorded for the same user within the last minute (same query
// text, same outcome) returns that entry instead of adding a twin; each
// recorded run absorbs one report.
func TestHistoryReportOfARecordedRun(t *testing.T) {
	w := start(t)
	tag := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	q := func(s string) string { return fmt.Sprintf("SELECT %s AS %s", s, "t"+tag) }
	entries := func(query string) int {
		return w.count(t, fmt.Sprintf(`SELECT count(*) FROM selfdb.sql_history WHERE btrim(query, E' \n') = '%s' AND user_id = '%s'`, query, w.su.ID))
	}
	serverEntry := func(query string) string {
		var id string
		if err := w.DB.DB.QueryRow(`SELECT id FROM selfdb.sql_history WHERE query = $1 AND user_id = $2 ORDER BY executed_at LIMIT 1`, query, w.su.ID).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	report := func(token, query string, failed bool) testkit.Req {
		body := map[string]any{"query": query, "is_read_only": true, "execution_time": 12.5, "row_count": 1}
		if failed {
			body["error"] = "column does not exist"
		}
		return testkit.Req{Method: "POST", Path: "/api/v1/sql/history", Token: token, Body: body}
	}
	count := func(query string, want int) func(t *testing.T, r *testkit.Response) {
		return func(t *testing.T, r *testkit.Response) {
			if n := entries(query); n != want {
				t.Errorf("%d history entries of %q, want %d: %s", n, query, want, r.Body)
			}
		}
	}

	once, twice, failing, late, other := q("1"), q("2"), "SELECT no_such_column_"+tag, q("3"), q("4")
	w.run(t, map[string]any{"query": once})
	onceID := serverEntry(once)
	w.run(t, map[string]any{"query": twice})
	w.run(t, map[string]any{"query": twice})
	if res := w.run(t, map[string]any{"query": failing}); res["success"] != false {
		t.Fatalf("failing query: %v", res)
	}
	w.run(t, map[string]any{"query": late})
	if _, err := w.DB.DB.Exec(`UPDATE selfdb.sql_history SET executed_at = now() - interval '61 seconds' WHERE query = $1`, late); err != nil {
		t.Fatal(err)
	}
	w.run(t, map[string]any{"query": other})
	otherSU := newUser(t, w.App, true)

	testkit.Run(t, w.App, []testkit.Case{
		{Name: "report of a recorded run returns it", Req: report(w.su.Token, once, false), Status: 200,
			Want: map[string]any{"id": onceID, "query": once, "row_count": 1, "error": nil}, Check: count(once, 1)},
		{Name: "a second report is a new entry", Req: report(w.su.Token, once, false), Status: 200, Check: count(once, 2)},
		{Name: "two runs absorb two reports", Req: report(w.su.Token, twice, false), Status: 200, Check: count(twice, 2)},
		{Name: "second of two runs", Req: report(w.su.Token, "  "+twice+"\n", false), Status: 200, Check: count(twice, 2)},
		{Name: "third report of two runs", Req: report(w.su.Token, twice, false), Status: 200, Check: count(twice, 3)},
		{Name: "another outcome is another run", Req: report(w.su.Token, failing, false), Status: 200, Check: count(failing, 2)},
		{Name: "a failed run's report", Req: report(w.su.Token, failing, true), Status: 200,
			Want: map[string]any{"error": testkit.Present, "query": failing}, Check: count(failing, 2)},
		{Name: "older than a minute", Req: report(w.su.Token, late, false), Status: 200, Check: count(late, 2)},
		{Name: "another user's report", Req: report(otherSU.Token, other, false), Status: 200,
			Check: func(t *testing.T, r *testkit.Response) {
				if n := w.count(t, fmt.Sprintf(`SELECT count(*) FROM selfdb.sql_history WHERE query = '%s'`, other)); n != 2 {
					t.Errorf("%d entries of %q, want the owner's and the other user's", n, other)
				}
				if r.Map(t)["id"] == serverEntry(other) {
					t.Error("another user's report took the owner's entry")
				}
			}},
		{Name: "the owner's report still finds it", Req: report(w.su.Token, other, false), Status: 200, Check: count(other, 1)},
	})
	var h struct {
		History []map[string]any `json:"history"`
	}
	w.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/sql/history?page_size=100", Token: w.su.Token}).Expect(t, 200).JSON(t, &h)
	n := 0
	for _, e := range h.History {
		if e["query"] == once {
			n++
		}
	}
	if n != 2 {
		t.Errorf("history lists %q %d times, want 2 (one run, one report of another)", once, n)
	}
}

package buckets_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/uptrace/bun"
)

// storageQueries counts the queries that touch buckets or files.
type storageQueries struct{ n atomic.Int64 }

func (q *storageQueries) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if strings.Contains(e.Query, "selfdb.buckets") || strings.Contains(e.Query, "selfdb.files") {
		q.n.Add(1)
	}
	return ctx
}

func (q *storageQueries) AfterQuery(context.Context, *bun.QueryEvent) {}

// A listing with stats is one query however many buckets it shows (no N+1).
func TestListIsOneQuery(t *testing.T) {
	a := start(t)
	u := newUser(t, a, "n1@example.com")
	for _, n := range []string{"n1-a", "n1-b", "n1-c", "n1-d"} {
		createBucket(t, a, u.Token, n+"-"+strings.ToLower(u.ID[:6]), true)
	}
	hook := &storageQueries{}
	a.DB.AddQueryHook(hook)
	for _, p := range []string{"/api/v1/buckets", "/api/v1/buckets/public"} {
		before := hook.n.Load()
		r := a.Get(t, p, u.Token).Expect(t, 200)
		var rows []map[string]any
		r.JSON(t, &rows)
		if len(rows) < 4 {
			t.Fatalf("%s listed %d buckets", p, len(rows))
		}
		if n := hook.n.Load() - before; n != 1 {
			t.Errorf("%s ran %d storage queries, want 1", p, n)
		}
	}
}

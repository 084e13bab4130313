package tables_test

import (
	"testing"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/tables"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

// Two instances behind a load balancer act as one: a schema or policy change
// made through one is seen by the other's next request, although each keeps
// table metadata in process; and a generation lost by memcached (eviction,
// restart) never brings back metadata cached under an earlier one.
func TestSecondInstanceSeesSchemaChanges(t *testing.T) {
	w := start(t)
	b := testkit.Start(t, testkit.Env("CACHE_PREFIX", w.Config.CachePrefix), testkit.With(auth.Module, users.Module, tables.Module))
	onB := func(method, path, token string, body any) *testkit.Response {
		t.Helper()
		return b.Do(t, testkit.Req{Method: method, Path: path, Token: token, Body: body})
	}
	w.create(t, map[string]any{"name": "shared", "columns": []map[string]any{
		{"name": "id", "type": "serial", "primary_key": true},
		{"name": "name", "type": "text"},
	}})
	onB("GET", "/api/v1/tables/shared/data", w.alice.Token, nil).Expect(t, 200)
	onB("POST", "/api/v1/tables/shared/data", w.alice.Token, map[string]any{"extra": "x"}).Expect(t, 400)

	w.do(t, "POST", "/api/v1/tables/shared/columns", w.su.Token, map[string]any{"column_name": "extra", "data_type": "text"}).Expect(t, 200)
	onB("POST", "/api/v1/tables/shared/data", w.alice.Token, map[string]any{"extra": "x"}).Expect(t, 200)

	w.do(t, "PUT", "/api/v1/tables/shared", w.su.Token, map[string]any{"access": map[string]any{"read": "superuser"}}).Expect(t, 200)
	onB("GET", "/api/v1/tables/shared/data", w.alice.Token, nil).Expect(t, 403)
	w.do(t, "PUT", "/api/v1/tables/shared", w.su.Token, map[string]any{"access": map[string]any{"read": "authenticated"}}).Expect(t, 200)
	onB("GET", "/api/v1/tables/shared/data", w.alice.Token, nil).Expect(t, 200)

	// memcached forgets the generation (eviction, restart) and both instances
	// cache the table under a new one; a change bumps it; memcached forgets it
	// again and the table changes outside SelfDB: the generation that follows
	// must not be the first new one again (its metadata is still cached).
	forget := func() {
		t.Helper()
		if err := memcache.New(testkit.MemcachedAddr()).Delete(w.Config.CachePrefix + "tables:gen"); err != nil {
			t.Fatalf("delete the generation: %v", err)
		}
	}
	forget()
	onB("GET", "/api/v1/tables/shared/data", w.alice.Token, nil).Expect(t, 200)
	w.do(t, "GET", "/api/v1/tables/shared/data", w.alice.Token, nil).Expect(t, 200)
	w.do(t, "PUT", "/api/v1/tables/shared", w.su.Token, map[string]any{"description": "bumps the generation"}).Expect(t, 200)
	onB("GET", "/api/v1/tables/shared/data", w.alice.Token, nil).Expect(t, 200)
	forget()
	w.sql(t, `ALTER TABLE public.shared ADD COLUMN later text`)
	onB("POST", "/api/v1/tables/shared/data", w.alice.Token, map[string]any{"later": "y"}).Expect(t, 200)
	w.do(t, "POST", "/api/v1/tables/shared/data", w.alice.Token, map[string]any{"later": "z"}).Expect(t, 200)
}

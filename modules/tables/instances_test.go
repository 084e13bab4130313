package tables_test

import (
	"testing"
	"time"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/tables"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

// Two instances behind a load balancer act as one: a schema or policy change
// made through one reaches the other through the change log (b.Sync waits
// for B to hear every committed change), although each keeps table
// metadata in process; so does DDL run in plain SQL.
func TestSecondInstanceSeesSchemaChanges(t *testing.T) {
	w := start(t)
	b := testkit.Start(t, testkit.Env("CACHE_PREFIX", w.Config.CachePrefix), testkit.With(auth.Module, users.Module, tables.Module))
	onB := func(method, path, token string, body any) *testkit.Response {
		t.Helper()
		b.Sync(t)
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

	w.sql(t, `ALTER TABLE public.shared ADD COLUMN later text`)
	onB("POST", "/api/v1/tables/shared/data", w.alice.Token, map[string]any{"later": "y"}).Expect(t, 200)
	w.Sync(t)
	w.do(t, "POST", "/api/v1/tables/shared/data", w.alice.Token, map[string]any{"later": "z"}).Expect(t, 200)
	w.sql(t, `DROP TABLE public.shared`)
	onB("GET", "/api/v1/tables/shared/data", w.alice.Token, nil).Expect(t, 404)
}

// A read policy tightened through instance A while memcached stalls stops
// anon on instance B within a second: B hears the policy change in the
// change log, whatever memcached does.
func TestPolicyChangeReachesOtherInstancesWhileMemcachedStalls(t *testing.T) {
	p := testkit.StartProxy(t, testkit.MemcachedAddr())
	w := start(t, "MEMCACHED_ADDR", p.Addr)
	b := testkit.Start(t, testkit.Env("CACHE_PREFIX", w.Config.CachePrefix, "MEMCACHED_ADDR", p.Addr), testkit.With(auth.Module, users.Module, tables.Module))
	w.create(t, map[string]any{"name": "open", "access": map[string]any{"read": "public"}, "columns": []map[string]any{
		{"name": "id", "type": "serial", "primary_key": true},
	}})
	b.Sync(t)
	for range 3 {
		b.Get(t, "/api/v1/tables/open/data", "").Expect(t, 200)
	}
	p.Hang()
	w.do(t, "PUT", "/api/v1/tables/open", w.su.Token, map[string]any{"access": map[string]any{"read": "superuser"}}).Expect(t, 200)
	deadline := time.Now().Add(time.Second)
	for b.Get(t, "/api/v1/tables/open/data", "").Status != 401 {
		if time.Now().After(deadline) {
			t.Fatal("instance B still serves anon 1s after the read policy was tightened")
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Heal()
	for range 10 {
		b.Get(t, "/api/v1/tables/open/data", "").Expect(t, 401)
	}
}

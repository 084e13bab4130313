package auth_test

import (
	"testing"
	"time"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

// A user deactivated through instance A while memcached stalls loses access
// on instance B within a second, although B's memcached copy still says
// active and A never got to tombstone it: B hears the change in the change
// log. (Before the change log, B served the stale copy for CACHE_TTL.)
func TestDeactivationReachesOtherInstancesWhileMemcachedStalls(t *testing.T) {
	p := testkit.StartProxy(t, testkit.MemcachedAddr())
	apps := testkit.StartN(t, 2, testkit.With(auth.Module, users.Module), testkit.Env("MEMCACHED_ADDR", p.Addr))
	a, b := apps[0], apps[1]
	admin := login(t, a, adminEmail, adminPassword)
	victim := newUser(t, a, "stalled@example.com")
	demoted := newUser(t, a, "demoted@example.com")
	a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/users/" + demoted.ID, Token: admin.Access, Body: map[string]any{"is_superuser": true}}).Expect(t, 200)
	// B has both records cached (memcached and its own copy).
	for range 3 {
		b.Get(t, "/api/v1/users/me", victim.Access).Expect(t, 200)
		b.Get(t, "/api/v1/users", demoted.Access).Expect(t, 200)
	}

	p.Hang()
	a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/users/" + victim.ID, Token: admin.Access, Body: map[string]any{"is_active": false}}).Expect(t, 200)
	a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/users/" + demoted.ID, Token: admin.Access, Body: map[string]any{"is_superuser": false}}).Expect(t, 200)
	time.Sleep(500 * time.Millisecond)
	p.Heal()

	deadline := time.Now().Add(time.Second)
	for b.Get(t, "/api/v1/users/me", victim.Access).Status != 401 || b.Get(t, "/api/v1/users", demoted.Access).Status != 403 {
		if time.Now().After(deadline) {
			t.Fatal("instance B still honours the old record 1s after memcached recovered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// And it stays that way.
	for range 20 {
		b.Get(t, "/api/v1/users/me", victim.Access).Expect(t, 401)
		b.Get(t, "/api/v1/users", demoted.Access).Expect(t, 403)
	}
}

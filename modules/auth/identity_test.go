package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/identity"
	"github.com/selfdb/selfdb/platform/testkit"
)

// forge signs arbitrary claims with the test secret (or method/key given).
func forge(t *testing.T, method jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validClaims(id, email string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"sub": id, "email": email, "is_superuser": false, "typ": "access",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": uuid.NewString()}
}

func TestIdentity(t *testing.T) {
	a := start(t)
	s := newUser(t, a, "ident@example.com")
	secret := []byte(testkit.SecretKey)
	with := func(mut func(jwt.MapClaims)) jwt.MapClaims {
		c := validClaims(s.ID, "ident@example.com")
		mut(c)
		return c
	}
	anon := map[string]any{"detail": "Authentication with user credentials required for this endpoint", "code": "not_authenticated"}
	bearer := map[string]string{"WWW-Authenticate": "Bearer"}
	me := func(name, token string) testkit.Case {
		return testkit.Case{Name: name, Req: testkit.Req{Method: "GET", Path: "/api/v1/users/me", Token: token}, Status: 401, Want: anon, WantHeader: bearer}
	}
	testkit.Run(t, a, []testkit.Case{
		{Name: "valid token", Req: testkit.Req{Method: "GET", Path: "/api/v1/users/me", Token: s.Access}, Status: 200,
			Want: map[string]any{"id": s.ID, "email": "ident@example.com"}},
		{Name: "valid forged-by-us token", Req: testkit.Req{Method: "GET", Path: "/api/v1/users/me", Token: forge(t, jwt.SigningMethodHS256, secret, with(func(jwt.MapClaims) {}))}, Status: 200},
		{Name: "lowercase bearer scheme", Req: testkit.Req{Method: "GET", Path: "/api/v1/users/me", Headers: map[string]string{"Authorization": "bearer " + s.Access}}, Status: 200},
		me("no token", ""),
		me("garbage token", "not-a-jwt"),
		me("expired token", forge(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }))),
		me("no exp", forge(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { delete(c, "exp") }))),
		me("wrong secret", forge(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-another"), with(func(jwt.MapClaims) {}))),
		me("HS512 with the right secret", forge(t, jwt.SigningMethodHS512, secret, with(func(jwt.MapClaims) {}))),
		me("alg none", forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, with(func(jwt.MapClaims) {}))),
		me("typ refresh", forge(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["typ"] = "refresh" }))),
		me("sub is an email (Python-era token)", forge(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["sub"] = "ident@example.com" }))),
		me("unknown user", forge(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["sub"] = uuid.NewString() }))),
		{Name: "invalid token on a key-only route is anon, not an error", Req: testkit.Req{Method: "GET", Path: "/api/v1/health", Token: "not-a-jwt"}, Status: 200},
		{Name: "expired token can still register", Req: testkit.Req{Method: "POST", Path: registerPath,
			Token: forge(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })),
			Body:  map[string]any{"email": "ident-2@example.com", "password": "password123"}}, Status: 200},
	})
}

// A user's record is read through the cache, and a change made anywhere,
// even in plain SQL behind the service's back, reaches it through the change
// log: the next requests see it within a second, with no explicit
// invalidation.
func TestIdentityReadsThroughCache(t *testing.T) {
	a := start(t)
	s := newUser(t, a, "cached@example.com")
	a.Get(t, "/api/v1/users/me", s.Access).Expect(t, 200)
	var cached *auth.User
	if !a.Cache.Get(auth.UserCacheKey(a.Cache, uuid.MustParse(s.ID)), &cached) || cached == nil || cached.Email != "cached@example.com" {
		t.Fatalf("memcached holds %+v after a request, want the user", cached)
	}
	if _, err := a.DB.NewRaw("UPDATE selfdb.users SET full_name = 'Behind The Back' WHERE id = ?", s.ID).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for a.Get(t, "/api/v1/users/me", s.Access).Expect(t, 200).Map(t)["full_name"] != "Behind The Back" {
		if time.Now().After(deadline) {
			t.Fatal("a change made in SQL was not seen within 1s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeactivatedDeletedAndDemotedUsersLoseAccessAtOnce(t *testing.T) {
	a := start(t)
	admin := login(t, a, adminEmail, adminPassword)
	victim := newUser(t, a, "victim@example.com")
	gone := newUser(t, a, "gone@example.com")
	promoted := newUser(t, a, "promoted@example.com")
	a.Get(t, "/api/v1/users/me", victim.Access).Expect(t, 200)
	a.Get(t, "/api/v1/users/me", gone.Access).Expect(t, 200)

	a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/users/" + victim.ID, Token: admin.Access, Body: map[string]any{"is_active": false}}).Expect(t, 200)
	a.Get(t, "/api/v1/users/me", victim.Access).Expect(t, 401)
	refresh(t, a, victim.Refresh).Expect(t, 401)

	a.Do(t, testkit.Req{Method: "DELETE", Path: "/api/v1/users/" + gone.ID, Token: admin.Access}).Expect(t, 200)
	a.Get(t, "/api/v1/users/me", gone.Access).Expect(t, 401)
	refresh(t, a, gone.Refresh).Expect(t, 401)

	// Promotion and demotion follow the stored flag, not the token's claim.
	a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/users/" + promoted.ID, Token: admin.Access, Body: map[string]any{"is_superuser": true}}).Expect(t, 200)
	a.Get(t, "/api/v1/users", promoted.Access).Expect(t, 200)
	a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/users/" + promoted.ID, Token: admin.Access, Body: map[string]any{"is_superuser": false}}).Expect(t, 200)
	a.Get(t, "/api/v1/users", promoted.Access).Expect(t, 403)
}

func TestResolve(t *testing.T) {
	var id *auth.Identity
	a := testkit.Start(t, testkit.With(auth.Module, users.Module, fx.Populate(&id)))
	s := newUser(t, a, "ws@example.com")
	ctx := context.Background()
	p, err := id.Resolve(ctx, s.Access)
	if err != nil || p.Role != identity.RoleUser || p.ID.String() != s.ID || p.Email != "ws@example.com" || p.IsSuperuser() {
		t.Fatalf("Resolve = %+v, %v", p, err)
	}
	for _, bad := range []string{"", "garbage", s.Refresh} {
		if p, err := id.Resolve(ctx, bad); p != identity.Anon || err != nil {
			t.Errorf("Resolve(%q) = %+v, %v; want Anon, nil", bad, p, err)
		}
	}
}

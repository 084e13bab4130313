package auth_test

import (
	"io"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/platform/testkit"
)

var invalidRefresh = map[string]any{"detail": "Invalid or expired refresh token", "code": "invalid_refresh_token"}

func TestRefreshWithoutRotation(t *testing.T) {
	a := start(t)
	s := newUser(t, a, "refresh@example.com")
	// Existing SDKs keep the first refresh token: it keeps working.
	for i := range 3 {
		m := refresh(t, a, s.Refresh).Expect(t, 200).Map(t)
		if msg := testkit.Match(map[string]any{"access_token": testkit.Present, "token_type": "bearer", "refresh_token": testkit.Absent}, m); msg != "" {
			t.Fatalf("refresh %d: %s", i, msg)
		}
		a.Get(t, "/api/v1/users/me", m["access_token"].(string)).Expect(t, 200)
	}
	testkit.Run(t, a, []testkit.Case{
		{Name: "unknown token", Req: testkit.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": "nope"}}, Status: 401, Want: invalidRefresh},
		{Name: "an access token is not a refresh token", Req: testkit.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": s.Access}}, Status: 401, Want: invalidRefresh},
		{Name: "nul bytes", Req: testkit.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": "a\x00b"}}, Status: 401, Want: invalidRefresh},
		{Name: "missing field", Req: testkit.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{}}, Status: 422,
			Want: map[string]any{"detail": []any{map[string]any{"loc": []any{"body", "refresh_token"}, "type": "missing", "msg": "Field required"}}}},
		{Name: "malformed json", Req: testkit.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: "{", Headers: map[string]string{"Content-Type": "application/json"}}, Status: 422},
		{Name: "logout missing field", Req: testkit.Req{Method: "POST", Path: "/api/v1/auth/logout", Body: map[string]any{}}, Status: 422},
	})

	// Only the hash is stored.
	var n int
	if err := a.DB.NewRaw("SELECT count(*) FROM selfdb.refresh_tokens WHERE token_hash = convert_to(?, 'UTF8')", s.Refresh).Scan(t.Context(), &n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("a refresh token is stored in plaintext")
	}

	// An expired token stops working.
	if _, err := a.DB.NewRaw("UPDATE selfdb.refresh_tokens SET expires_at = now() - interval '1 second' WHERE user_id = ?", s.ID).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	refresh(t, a, s.Refresh).Expect(t, 401)
}

func TestRefreshOfAnInactiveUser(t *testing.T) {
	a := start(t)
	s := newUser(t, a, "refresh-inactive@example.com")
	// Deactivated behind the service's back (tokens not revoked): the
	// refresh still checks the user.
	if _, err := a.DB.NewRaw("UPDATE selfdb.users SET is_active = false WHERE id = ?", s.ID).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	a.Cache.Invalidate(auth.UserCacheKey(a.Cache, uuid.MustParse(s.ID)))
	r := refresh(t, a, s.Refresh).Expect(t, 401)
	if msg := testkit.Match(map[string]any{"detail": "User no longer exists", "code": "user_gone"}, r.Map(t)); msg != "" {
		t.Fatal(msg)
	}
}

func TestLogout(t *testing.T) {
	a := start(t)
	s := newUser(t, a, "logout@example.com")
	other := login(t, a, "logout@example.com", "password123")
	logout := func(tok string) *testkit.Response {
		return a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/logout", Body: map[string]any{"refresh_token": tok}})
	}
	logout(s.Refresh).Expect(t, 204)
	refresh(t, a, s.Refresh).Expect(t, 401)
	logout(s.Refresh).Expect(t, 204) // idempotent
	logout("never-issued").Expect(t, 204)
	refresh(t, a, other.Refresh).Expect(t, 200) // other sessions live on

	testkit.Run(t, a, []testkit.Case{
		{Name: "logout-all anon", Req: testkit.Req{Method: "POST", Path: "/api/v1/auth/logout-all"}, Status: 401,
			Want: map[string]any{"detail": "Authentication with user credentials required for this endpoint"}, WantHeader: map[string]string{"WWW-Authenticate": "Bearer"}},
	})
	gone := newUser(t, a, "logout-deactivated@example.com")
	if _, err := a.DB.NewRaw("UPDATE selfdb.users SET is_active = false WHERE id = ?", gone.ID).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	a.Cache.Invalidate(auth.UserCacheKey(a.Cache, uuid.MustParse(gone.ID)))
	testkit.Run(t, a, []testkit.Case{
		{Name: "logout-all deactivated", Req: testkit.Req{Method: "POST", Path: "/api/v1/auth/logout-all", Token: gone.Access}, Status: 401},
		{Name: "logout-all expired", Req: testkit.Req{Method: "POST", Path: "/api/v1/auth/logout-all", Token: forge(t, jwt.SigningMethodHS256, []byte(testkit.SecretKey),
			jwt.MapClaims{"sub": s.ID, "typ": "access", "iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()})}, Status: 401},
	})
	refresh(t, a, gone.Refresh).Expect(t, 401)
	third := login(t, a, "logout@example.com", "password123")
	bystander := newUser(t, a, "logout-bystander@example.com")
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/logout-all", Token: other.Access}).Expect(t, 204)
	refresh(t, a, other.Refresh).Expect(t, 401)
	refresh(t, a, third.Refresh).Expect(t, 401)
	refresh(t, a, bystander.Refresh).Expect(t, 200)
}

func TestPasswordChangeRevokesRefreshTokens(t *testing.T) {
	a := start(t)
	s := newUser(t, a, "pwchange@example.com")
	other := login(t, a, "pwchange@example.com", "password123")
	a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/users/me/password", Token: s.Access,
		Body: map[string]any{"current_password": "password123", "new_password": "newpassword1"}}).Expect(t, 200)
	refresh(t, a, s.Refresh).Expect(t, 401)
	refresh(t, a, other.Refresh).Expect(t, 401)
	n := login(t, a, "pwchange@example.com", "newpassword1")
	a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/users/me", Token: n.Access, Body: map[string]any{"password": "thirdpassword"}}).Expect(t, 200)
	refresh(t, a, n.Refresh).Expect(t, 401)
}

func TestRefreshRotation(t *testing.T) {
	a := start(t, "AUTH_REFRESH_ROTATION", "true", "AUTH_REFRESH_REUSE_GRACE", "0s")
	s := newUser(t, a, "rotate@example.com")
	bystander := login(t, a, "rotate@example.com", "password123") // another login = another family

	m := refresh(t, a, s.Refresh).Expect(t, 200).Map(t)
	t1, _ := m["refresh_token"].(string)
	if t1 == "" || t1 == s.Refresh {
		t.Fatalf("rotation gave %q", t1)
	}
	a.Get(t, "/api/v1/users/me", m["access_token"].(string)).Expect(t, 200)
	t2 := refresh(t, a, t1).Expect(t, 200).Map(t)["refresh_token"].(string)

	// Reusing a retired token revokes the whole family, the newest included.
	time.Sleep(10 * time.Millisecond)
	r := refresh(t, a, s.Refresh).Expect(t, 401)
	if msg := testkit.Match(invalidRefresh, r.Map(t)); msg != "" {
		t.Fatal(msg)
	}
	refresh(t, a, t2).Expect(t, 401)
	refresh(t, a, t1).Expect(t, 401)
	// Other sessions of the same user are untouched.
	refresh(t, a, bystander.Refresh).Expect(t, 200)
}

func TestRefreshRotationGraceForConcurrentRefreshes(t *testing.T) {
	a := start(t, "AUTH_REFRESH_ROTATION", "true", "AUTH_REFRESH_REUSE_GRACE", "1m")
	s := newUser(t, a, "rotate-grace@example.com")
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		req := testkit.BuildRequest(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": s.Refresh}})
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := a.Fiber.Test(req, -1)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			}
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		if st != 200 {
			t.Fatalf("concurrent refresh %d: status %d", i, st)
		}
	}
	// Within the grace window a just-retired token still works, and the
	// token it was rotated into does too.
	next := refresh(t, a, s.Refresh).Expect(t, 200).Map(t)["refresh_token"].(string)
	refresh(t, a, next).Expect(t, 200)
}

// POST /auth/refresh needs no anon key (api.md §0.2, §2, amended: the refresh
// token is the credential; the original admin UI refreshes without the key),
// and that path alone: every other auth route still answers 401 without it.
func TestRefreshWithoutAnonKey(t *testing.T) {
	a := start(t)
	s := newUser(t, a, "refresh-nokey@example.com")
	noKey := func(method, path string, body any) testkit.Req {
		return testkit.Req{Method: method, Path: path, NoKey: true, Body: body}
	}
	anonKey := map[string]any{"detail": "Missing or invalid anon-key. Every request must include a valid anon-key in the header or query params."}
	testkit.Run(t, a, []testkit.Case{
		{Name: "refresh without the key", Req: noKey("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": s.Refresh}), Status: 200,
			Want: map[string]any{"access_token": testkit.Present, "token_type": "bearer"},
			Check: func(t *testing.T, r *testkit.Response) {
				a.Get(t, "/api/v1/users/me", r.Map(t)["access_token"].(string)).Expect(t, 200)
			}},
		{Name: "with a trailing slash", Req: noKey("POST", "/api/v1/auth/refresh/", map[string]any{"refresh_token": s.Refresh}), Status: 200},
		{Name: "with a wrong key", Req: testkit.Req{Method: "POST", Path: "/api/v1/auth/refresh", NoKey: true, Headers: map[string]string{"apikey": "wrong"},
			Body: map[string]any{"refresh_token": s.Refresh}}, Status: 200},
		{Name: "bad token without the key", Req: noKey("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": "nope"}), Status: 401, Want: invalidRefresh},
		{Name: "login still needs the key", Req: noKey("POST", "/api/v1/auth/login", map[string]any{"email": "refresh-nokey@example.com", "password": "password123"}), Status: 401, Want: anonKey},
		{Name: "register still needs the key", Req: noKey("POST", "/api/v1/auth/register", map[string]any{"email": "x-nokey@example.com", "password": "password123"}), Status: 401, Want: anonKey},
		{Name: "logout still needs the key", Req: noKey("POST", "/api/v1/auth/logout", map[string]any{"refresh_token": s.Refresh}), Status: 401, Want: anonKey},
		{Name: "logout-all still needs the key", Req: testkit.Req{Method: "POST", Path: "/api/v1/auth/logout-all", NoKey: true, Token: s.Access}, Status: 401, Want: anonKey},
		{Name: "a path beside it", Req: noKey("POST", "/api/v1/auth/refreshx", map[string]any{"refresh_token": s.Refresh}), Status: 401, Want: anonKey},
		{Name: "a path below it", Req: noKey("POST", "/api/v1/auth/refresh/x", map[string]any{"refresh_token": s.Refresh}), Status: 401, Want: anonKey},
		{Name: "users still need the key", Req: testkit.Req{Method: "GET", Path: "/api/v1/users/me", NoKey: true, Token: s.Access}, Status: 401, Want: anonKey},
	})
	// The session still works after all that (logout above was refused).
	refresh(t, a, s.Refresh).Expect(t, 200)
}

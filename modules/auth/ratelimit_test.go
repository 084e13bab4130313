package auth_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/testkit"
)

// window is the rate-limit window of these tests: short, so the reset is observable.
const window = 3 * time.Second

// freshWindow waits for the start of the next fixed window, so a test's
// requests all fall in one window.
func freshWindow() {
	now := time.Now()
	time.Sleep(now.Truncate(window).Add(window).Sub(now) + 20*time.Millisecond)
}

func loginReq(email, password string) testkit.Req {
	return testkit.Req{Method: "POST", Path: loginPath, Body: testkit.Form{"username": email, "password": password}}
}

// expectLimited checks a 429 in the contract's shape with a sane Retry-After.
func expectLimited(t *testing.T, r *testkit.Response) {
	t.Helper()
	r.Expect(t, 429)
	if msg := testkit.Match(map[string]any{"code": "rate_limited", "detail": testkit.Present}, r.Map(t)); msg != "" {
		t.Fatal(msg)
	}
	s, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || s < 1 || s > int(window/time.Second) {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
}

func limitEnv(extra ...string) []string {
	return append([]string{"AUTH_RATE_LIMIT_WINDOW", window.String(), "AUTH_LOGIN_MAX_FAILURES_PER_EMAIL", "3"}, extra...)
}

func TestLoginFailuresPerEmailTripAndReset(t *testing.T) {
	t.Parallel()
	a := start(t, limitEnv()...)
	register(t, a, "rl-email@example.com", "password123")
	register(t, a, "rl-other@example.com", "password123")
	freshWindow()
	for range 3 {
		a.Do(t, loginReq("rl-email@example.com", "wrongpassword")).Expect(t, 400)
	}
	// Even the right password is refused until the window ends.
	expectLimited(t, a.Do(t, loginReq("rl-email@example.com", "password123")))
	expectLimited(t, a.Do(t, loginReq("RL-Email@example.com", "password123")))
	a.Do(t, loginReq("rl-other@example.com", "password123")).Expect(t, 200)
	freshWindow()
	a.Do(t, loginReq("rl-email@example.com", "password123")).Expect(t, 200)
}

func TestPerIPLimits(t *testing.T) {
	t.Parallel()
	a := start(t, limitEnv("AUTH_LOGIN_MAX_PER_IP", "3", "AUTH_REGISTER_MAX_PER_IP", "2",
		"AUTH_REGISTER_MAX_PER_EMAIL", "2", "AUTH_REFRESH_MAX_PER_IP", "2")...)
	s := newUser(t, a, "rl-ip@example.com")
	freshWindow()
	for i := range 3 {
		a.Do(t, loginReq(fmt.Sprintf("rl-ip-%d@example.com", i), "password123")).Expect(t, 400)
	}
	expectLimited(t, a.Do(t, loginReq("rl-ip@example.com", "password123")))

	refresh(t, a, s.Refresh).Expect(t, 200)
	refresh(t, a, s.Refresh).Expect(t, 200)
	expectLimited(t, refresh(t, a, s.Refresh))

	reg := func(email string) *testkit.Response {
		return a.Do(t, testkit.Req{Method: "POST", Path: registerPath, Body: map[string]any{"email": email, "password": "password123"}})
	}
	reg("rl-reg-1@example.com").Expect(t, 200)
	reg("rl-reg-2@example.com").Expect(t, 200)
	expectLimited(t, reg("rl-reg-3@example.com"))
}

func TestRegisterPerEmailLimit(t *testing.T) {
	t.Parallel()
	a := start(t, limitEnv("AUTH_REGISTER_MAX_PER_EMAIL", "2")...)
	freshWindow()
	reg := func(email string) *testkit.Response {
		return a.Do(t, testkit.Req{Method: "POST", Path: registerPath, Body: map[string]any{"email": email, "password": "password123"}})
	}
	reg("rl-reg-email@example.com").Expect(t, 200)
	reg("rl-reg-email@example.com").Expect(t, 400)
	expectLimited(t, reg("RL-reg-email@example.com"))
	reg("rl-reg-email-2@example.com").Expect(t, 200)
}

func TestRateLimitIsSharedBetweenInstances(t *testing.T) {
	t.Parallel()
	prefix := "rl" + uuid.NewString()[:8] + ":"
	a := start(t, limitEnv("CACHE_PREFIX", prefix)...)
	b := start(t, limitEnv("CACHE_PREFIX", prefix)...)
	register(t, a, "rl-shared@example.com", "password123")
	freshWindow()
	a.Do(t, loginReq("rl-shared@example.com", "wrongpassword")).Expect(t, 400)
	a.Do(t, loginReq("rl-shared@example.com", "wrongpassword")).Expect(t, 400)
	b.Do(t, loginReq("rl-shared@example.com", "wrongpassword")).Expect(t, 400)
	expectLimited(t, b.Do(t, loginReq("rl-shared@example.com", "password123")))
	expectLimited(t, a.Do(t, loginReq("rl-shared@example.com", "password123")))
}

// With memcached unreachable each instance counts for itself: the limit
// still applies, and nobody is refused who is under it.
func TestRateLimitDegradesToPerProcessWithoutMemcached(t *testing.T) {
	t.Parallel()
	dead := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	a := start(t, limitEnv("MEMCACHED_ADDR", dead)...)
	b := start(t, limitEnv("MEMCACHED_ADDR", dead)...)
	register(t, a, "rl-down@example.com", "password123")
	freshWindow()
	for range 3 {
		a.Do(t, loginReq("rl-down@example.com", "wrongpassword")).Expect(t, 400)
	}
	expectLimited(t, a.Do(t, loginReq("rl-down@example.com", "password123")))
	s := login(t, b, "rl-down@example.com", "password123")
	b.Get(t, "/api/v1/users/me", s.Access).Expect(t, 200)
	freshWindow()
	a.Do(t, loginReq("rl-down@example.com", "password123")).Expect(t, 200)
}

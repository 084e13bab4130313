package auth_test

import (
	"fmt"
	"strconv"
	"sync"
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

// The per-email failure limit holds under concurrency: each attempt takes
// its place in the count before the password is checked, so a burst of
// guesses can't all pass the check while none has been counted yet. A right
// password gives its place back: successes never use up the budget. Both
// with memcached and with the in-process fallback.
func TestLoginFailuresPerEmailHoldUnderConcurrency(t *testing.T) {
	t.Parallel()
	dead := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	for _, counters := range []struct{ name, id, memcached string }{{"memcached", "mc", ""}, {"in process", "local", dead}} {
		t.Run(counters.name, func(t *testing.T) {
			// A long window, entered away from its edge, keeps the whole test
			// in one window. A slower hash widens the race.
			const long = time.Hour
			env := []string{"AUTH_RATE_LIMIT_WINDOW", long.String(), "AUTH_LOGIN_MAX_FAILURES_PER_EMAIL", "5", "BCRYPT_COST", "8"}
			if counters.memcached != "" {
				env = append(env, "MEMCACHED_ADDR", counters.memcached)
			}
			a := start(t, env...)
			burst, steady := "rl-burst-"+counters.id+"@example.com", "rl-steady-"+counters.id+"@example.com"
			register(t, a, burst, "password123")
			register(t, a, steady, "password123")
			if left := time.Until(time.Now().Truncate(long).Add(long)); left < 30*time.Second {
				time.Sleep(left + 20*time.Millisecond)
			}

			statuses := make([]int, 40)
			errs := make([]error, len(statuses))
			var wg sync.WaitGroup
			for i := range statuses {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := a.Fiber.Test(testkit.BuildRequest(t, loginReq(burst, "wrongpassword")), -1)
					if err != nil {
						errs[i] = err
						return
					}
					resp.Body.Close()
					statuses[i] = resp.StatusCode
				}()
			}
			wg.Wait()
			counts := map[int]int{}
			for i, s := range statuses {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				counts[s]++
			}
			if counts[400] > 5 || counts[400]+counts[429] != len(statuses) {
				t.Fatalf("40 concurrent wrong passwords: %v (want at most 5 × 400, the rest 429)", counts)
			}
			r := a.Do(t, loginReq(burst, "password123")).Expect(t, 429)
			if r.Map(t)["code"] != "rate_limited" || r.Header.Get("Retry-After") == "" {
				t.Fatalf("429 %s %v", r.Body, r.Header)
			}

			for i := range 20 {
				if r := a.Do(t, loginReq(steady, "password123")); r.Status != 200 {
					t.Fatalf("right password #%d: %s", i+1, r)
				}
			}
			// The successes left the whole budget: five failures, then the limit.
			for range 5 {
				a.Do(t, loginReq(steady, "wrongpassword")).Expect(t, 400)
			}
			a.Do(t, loginReq(steady, "password123")).Expect(t, 429)
		})
	}
}

package auth_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

// A hash made by the Python version's bcrypt (pyca/bcrypt's test vector).
const (
	pythonPassword = "Kk4DQuMMfZL9o"
	pythonHash     = "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm"
)

func TestPythonBcryptHashesVerify(t *testing.T) {
	h := auth.NewHasher(4)
	if !h.Check(pythonHash, pythonPassword) {
		t.Fatal("$2b$ hash does not verify")
	}
	if h.Check(pythonHash, pythonPassword+"x") {
		t.Fatal("wrong password verifies")
	}
	a := start(t)
	if _, err := a.DB.NewRaw("INSERT INTO selfdb.users (email, hashed_password) VALUES ('python@example.com', ?)", pythonHash).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	testkit.Run(t, a, []testkit.Case{
		{Name: "python-era account logs in", Req: testkit.Req{Method: "POST", Path: loginPath, Body: testkit.Form{"username": "python@example.com", "password": pythonPassword}}, Status: 200},
		{Name: "wrong password", Req: testkit.Req{Method: "POST", Path: loginPath, Body: testkit.Form{"username": "python@example.com", "password": "Kk4DQuMMfZL9x"}}, Status: 400},
	})
}

func TestBcryptCostIsConfigured(t *testing.T) {
	h := auth.NewHasher(5)
	hash, err := h.Hash("password123")
	if err != nil {
		t.Fatal(err)
	}
	if hash[:7] != "$2a$05$" {
		t.Fatalf("hash %q, want cost 05", hash)
	}
}

func TestBootstrap(t *testing.T) {
	a := start(t)
	m := login(t, a, adminEmail, adminPassword)
	if me := a.Get(t, "/api/v1/users/me", m.Access).Expect(t, 200).Map(t); me["is_superuser"] != true || me["is_active"] != true {
		t.Fatalf("bootstrapped admin: %v", me)
	}
	// An existing user with the admin email is never modified.
	register(t, a, "plain@example.com", "password123")
	b := start(t, "DEFAULT_ADMIN_EMAIL", "plain@example.com", "DEFAULT_ADMIN_PASSWORD", "anotherpassword")
	s := login(t, b, "plain@example.com", "password123")
	if me := b.Get(t, "/api/v1/users/me", s.Access).Expect(t, 200).Map(t); me["is_superuser"] != false {
		t.Fatalf("existing user was promoted: %v", me)
	}
	b.Do(t, testkit.Req{Method: "POST", Path: loginPath, Body: testkit.Form{"username": "plain@example.com", "password": "anotherpassword"}}).Expect(t, 400)
}

// Instances starting together create the superuser once, without failing.
func TestBootstrapConcurrently(t *testing.T) {
	var svc *auth.Service
	a := testkit.Start(t, testkit.With(auth.Module, users.Module, fx.Populate(&svc)),
		testkit.Env("DEFAULT_ADMIN_EMAIL", "boot-race@example.com", "DEFAULT_ADMIN_PASSWORD", "bootpassword"))
	if _, err := a.DB.NewRaw("DELETE FROM selfdb.users WHERE email = 'boot-race@example.com'").Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = svc.Bootstrap(context.Background())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := a.DB.NewRaw("SELECT count(*) FROM selfdb.users WHERE email = 'boot-race@example.com' AND is_superuser").Scan(t.Context(), &n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d superusers created", n)
	}
	login(t, a, "boot-race@example.com", "bootpassword")
}

// The server takes requests only once start-up is over: at the first /readyz
// 200 the default superuser exists and logs in (make chaos found logins
// refused for the first ~100 ms of a fresh instance, because the listener
// opened before the superuser was created).
func TestReadyOnlyOnceTheSuperuserExists(t *testing.T) {
	port := testkit.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	// A new email each run: an existing one is only looked up, not created.
	email, password := fmt.Sprintf("ready-boot-%d@example.com", time.Now().UnixNano()), "readypassword"
	client := &http.Client{Timeout: 10 * time.Second}
	result := make(chan string, 1)
	go func() {
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			resp, err := client.Get(base + "/readyz")
			if err != nil || resp.StatusCode != 200 {
				if err == nil {
					resp.Body.Close()
				}
				time.Sleep(time.Millisecond)
				continue
			}
			resp.Body.Close()
			req, _ := http.NewRequest("POST", base+"/api/v1/auth/login",
				bytes.NewReader(fmt.Appendf(nil, `{"email":%q,"password":%q}`, email, password)))
			req.Header.Set("apikey", testkit.AnonKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err = client.Do(req)
			if err != nil {
				result <- err.Error()
				return
			}
			resp.Body.Close()
			result <- strconv.Itoa(resp.StatusCode)
			return
		}
		result <- "never ready"
	}()
	// Cost 10: creating the superuser takes long enough (tens of ms) for a
	// listener opened before it to be seen.
	start(t, "API_PORT", strconv.Itoa(port), "DEFAULT_ADMIN_EMAIL", email, "DEFAULT_ADMIN_PASSWORD", password, "BCRYPT_COST", "10")
	if got := <-result; got != "200" {
		t.Fatalf("login at the first /readyz 200: %s, want 200", got)
	}
}

func TestExpiredRefreshTokensArePurged(t *testing.T) {
	a := start(t, "AUTH_TOKEN_PURGE_INTERVAL", "50ms")
	s := newUser(t, a, "purge@example.com")
	live := login(t, a, "purge@example.com", "password123")
	if _, err := a.DB.NewRaw("UPDATE selfdb.refresh_tokens SET expires_at = now() - interval '1 minute' WHERE user_id = ? AND token_hash <> sha256(convert_to(?, 'UTF8'))", s.ID, live.Refresh).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		if err := a.DB.NewRaw("SELECT count(*) FROM selfdb.refresh_tokens WHERE user_id = ?", s.ID).Scan(t.Context(), &n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d tokens left, want only the live one", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	refresh(t, a, live.Refresh).Expect(t, 200)
}

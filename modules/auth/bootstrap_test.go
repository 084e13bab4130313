package auth_test

import (
	"context"
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

package auth_test

import (
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/selfdb/selfdb/platform/testkit"
)

func TestRegister(t *testing.T) {
	a := start(t)
	field := func(name, typ string) map[string]any {
		return map[string]any{"code": "validation_failed", "detail": []any{map[string]any{"loc": []any{"body", name}, "type": typ, "msg": testkit.Present}}}
	}
	reg := func(body any) testkit.Req {
		return testkit.Req{Method: "POST", Path: registerPath, Body: body}
	}
	taken := map[string]any{"detail": "A user with this email already exists.", "code": "email_taken"}
	testkit.Run(t, a, []testkit.Case{
		{Name: "ok with full name", Req: reg(map[string]any{"email": "reg@example.com", "password": "password123", "full_name": "Reg Istered"}), Status: 200,
			Want: map[string]any{"id": testkit.Present, "email": "reg@example.com", "is_active": true, "is_superuser": false,
				"full_name": "Reg Istered", "created_at": testkit.Present, "updated_at": nil, "hashed_password": testkit.Absent, "password": testkit.Absent}},
		{Name: "is_superuser and is_active ignored", Req: reg(map[string]any{"email": "reg-sneaky@example.com", "password": "password123", "is_superuser": true, "is_active": false}), Status: 200,
			Want: map[string]any{"is_active": true, "is_superuser": false, "full_name": nil}},
		{Name: "duplicate", Req: reg(map[string]any{"email": "reg@example.com", "password": "password123"}), Status: 400, Want: taken},
		{Name: "duplicate in another case", Req: reg(map[string]any{"email": "REG@Example.COM", "password": "password123"}), Status: 400, Want: taken},
		{Name: "duplicate of the superuser", Req: reg(map[string]any{"email": adminEmail, "password": "password123"}), Status: 400, Want: taken},
		{Name: "invalid email", Req: reg(map[string]any{"email": "not-an-email", "password": "password123"}), Status: 422, Want: field("email", "value_error")},
		{Name: "email with display name", Req: reg(map[string]any{"email": "Bob <bob@example.com>", "password": "password123"}), Status: 422, Want: field("email", "value_error")},
		{Name: "512 KiB email", Req: reg(map[string]any{"email": strings.Repeat("a", 1<<19) + "@example.com", "password": "password123"}), Status: 422, Want: field("email", "value_error")},
		{Name: "1 MB email is over the JSON body limit", Req: reg(map[string]any{"email": strings.Repeat("a", 1<<20) + "@example.com", "password": "password123"}), Status: 413, Want: map[string]any{"code": "body_too_large"}},
		{Name: "nul in email", Req: reg(map[string]any{"email": "nul\x00@example.com", "password": "password123"}), Status: 422, Want: field("email", "value_error")},
		{Name: "short password", Req: reg(map[string]any{"email": "short@example.com", "password": "1234567"}), Status: 422, Want: field("password", "string_too_short")},
		{Name: "password over 72 bytes", Req: reg(map[string]any{"email": "long@example.com", "password": strings.Repeat("p", 73)}), Status: 422, Want: field("password", "string_too_long")},
		{Name: "nul in password", Req: reg(map[string]any{"email": "nulpw@example.com", "password": "password\x00123"}), Status: 422, Want: field("password", "string_invalid")},
		{Name: "nul in full name", Req: reg(map[string]any{"email": "nulname@example.com", "password": "password123", "full_name": "a\x00b"}), Status: 422, Want: field("full_name", "string_invalid")},
		{Name: "missing fields", Req: reg(map[string]any{}), Status: 422,
			Want: map[string]any{"detail": []any{
				map[string]any{"loc": []any{"body", "email"}, "type": "missing", "msg": "Field required"},
				map[string]any{"loc": []any{"body", "password"}, "type": "missing", "msg": "Field required"}}}},
		{Name: "email of wrong type", Req: reg(map[string]any{"email": 42, "password": "password123"}), Status: 422, Want: field("email", "string_type")},
		{Name: "array body", Req: reg([]any{1, 2}), Status: 422, Want: map[string]any{"code": "validation_failed"}},
		{Name: "malformed json", Req: testkit.Req{Method: "POST", Path: registerPath, Body: `{"email":`, Headers: map[string]string{"Content-Type": "application/json"}}, Status: 422,
			Want: map[string]any{"code": "validation_failed"}},
		{Name: "form content type", Req: testkit.Req{Method: "POST", Path: registerPath, Body: testkit.Form{"email": "form@example.com", "password": "password123"}}, Status: 422,
			Want: map[string]any{"code": "validation_failed"}},
		{Name: "no anon key", Req: testkit.Req{Method: "POST", Path: registerPath, NoKey: true, Body: map[string]any{"email": "nokey@example.com", "password": "password123"}}, Status: 401},
	})
	// The ignored flags were not stored either.
	s := login(t, a, "reg-sneaky@example.com", "password123")
	a.Get(t, "/api/v1/users/me", s.Access).Expect(t, 200)
	var super, active bool
	if err := a.DB.NewRaw("SELECT is_superuser, is_active FROM selfdb.users WHERE email = 'reg-sneaky@example.com'").Scan(t.Context(), &super, &active); err != nil {
		t.Fatal(err)
	}
	if super || !active {
		t.Errorf("stored is_superuser=%v is_active=%v", super, active)
	}
	// The password is stored as a bcrypt hash, never in clear.
	var hash string
	if err := a.DB.NewRaw("SELECT hashed_password FROM selfdb.users WHERE email = 'reg@example.com'").Scan(t.Context(), &hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$2") || strings.Contains(hash, "password123") {
		t.Errorf("stored hash %q", hash)
	}
}

func TestConcurrentRegistrationsOfOneEmail(t *testing.T) {
	a := start(t, "AUTH_REGISTER_MAX_PER_EMAIL", "1000", "AUTH_REGISTER_MAX_PER_IP", "1000")
	const n = 50
	statuses := make([]int, n)
	bodies := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		req := testkit.BuildRequest(t, testkit.Req{Method: "POST", Path: registerPath,
			Body: map[string]any{"email": "race@example.com", "password": "password123"}})
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := a.Fiber.Test(req, -1)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			statuses[i], bodies[i] = resp.StatusCode, string(b)
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		count[statuses[i]]++
		if statuses[i] == 400 && !strings.Contains(bodies[i], "A user with this email already exists.") {
			t.Errorf("400 body: %s", bodies[i])
		}
	}
	if count[200] != 1 || count[400] != n-1 {
		t.Fatalf("statuses %v, want one 200 and %d×400", count, n-1)
	}
	var rows int
	if err := a.DB.NewRaw("SELECT count(*) FROM selfdb.users WHERE lower(email) = 'race@example.com'").Scan(t.Context(), &rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Fatalf("%d rows for the email", rows)
	}
}

// AUTH_ALLOW_SIGNUP=false closes self-registration: register answers 403
// signup_disabled (whatever the body) and creates nothing, while a superuser
// still creates users and they log in.
func TestSignupDisabled(t *testing.T) {
	a := start(t, "AUTH_ALLOW_SIGNUP", "false")
	su := login(t, a, adminEmail, adminPassword)
	user := newUserAs(t, a, su.Access, "made-by-admin@example.com")
	disabled := map[string]any{"code": "signup_disabled", "detail": testkit.Present}
	reg := func(body any) testkit.Req { return testkit.Req{Method: "POST", Path: registerPath, Body: body} }
	testkit.Run(t, a, []testkit.Case{
		{Name: "register", Req: reg(map[string]any{"email": "closed@example.com", "password": "password123"}), Status: 403, Want: disabled,
			Check: func(t *testing.T, r *testkit.Response) {
				var n int
				if err := a.DB.NewRaw("SELECT count(*) FROM selfdb.users WHERE email = 'closed@example.com'").Scan(t.Context(), &n); err != nil || n != 0 {
					t.Errorf("closed registration stored %d users (%v)", n, err)
				}
			}},
		{Name: "register with a superuser token", Req: testkit.Req{Method: "POST", Path: registerPath, Token: su.Access,
			Body: map[string]any{"email": "closed2@example.com", "password": "password123"}}, Status: 403, Want: disabled},
		{Name: "register with an empty body", Req: reg(map[string]any{}), Status: 403, Want: disabled},
		{Name: "no anon key is still 401", Req: testkit.Req{Method: "POST", Path: registerPath, NoKey: true, Body: map[string]any{}}, Status: 401},
		{Name: "superuser creates a user", Req: testkit.Req{Method: "POST", Path: "/api/v1/users", Token: su.Access,
			Body: map[string]any{"email": "second-by-admin@example.com", "password": "password123"}}, Status: 200,
			Want: map[string]any{"email": "second-by-admin@example.com", "is_superuser": false, "is_active": true}},
		{Name: "a user cannot create users", Req: testkit.Req{Method: "POST", Path: "/api/v1/users", Token: user.Access,
			Body: map[string]any{"email": "third@example.com", "password": "password123"}}, Status: 403},
		{Name: "the created user logs in", Req: testkit.Req{Method: "POST", Path: "/api/v1/auth/login",
			Body: map[string]any{"email": "second-by-admin@example.com", "password": "password123"}}, Status: 200},
	})
}

// newUserAs creates a user through POST /users as a superuser and logs in.
func newUserAs(t *testing.T, a *testkit.App, suToken, email string) session {
	t.Helper()
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/users", Token: suToken, Body: map[string]any{"email": email, "password": "password123"}}).Expect(t, 200)
	return login(t, a, email, "password123")
}

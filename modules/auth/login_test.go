package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/selfdb/selfdb/platform/testkit"
)

const (
	loginPath    = "/api/v1/auth/login"
	registerPath = "/api/v1/auth/register"
	badCreds     = "Incorrect email or password"
)

func TestLogin(t *testing.T) {
	a := start(t)
	u := register(t, a, "login-user@example.com", "password123")
	inactive := login(t, a, adminEmail, adminPassword)
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/users", Token: inactive.Access,
		Body: map[string]any{"email": "login-inactive@example.com", "password": "password123", "is_active": false}}).Expect(t, 200)

	ok := map[string]any{
		"access_token": testkit.Present, "refresh_token": testkit.Present, "token_type": "bearer",
		"is_superuser": false, "email": "login-user@example.com", "user_id": u["id"],
	}
	missing := func(field string) map[string]any {
		return map[string]any{"code": "validation_failed", "detail": []any{map[string]any{"loc": []any{"body", field}, "type": "missing", "msg": "Field required"}}}
	}
	bad := map[string]any{"detail": badCreds, "code": "invalid_credentials"}
	testkit.Run(t, a, []testkit.Case{
		{Name: "urlencoded form", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: testkit.Form{"username": "login-user@example.com", "password": "password123", "grant_type": "password", "scope": "", "client_id": "x", "client_secret": "y"}},
			Status: 200, Want: ok},
		{Name: "multipart form", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: testkit.Multipart{Fields: map[string]string{"username": "login-user@example.com", "password": "password123"}}},
			Status: 200, Want: ok},
		{Name: "json email", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: map[string]any{"email": "login-user@example.com", "password": "password123"}}, Status: 200, Want: ok},
		{Name: "json username", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: map[string]any{"username": "login-user@example.com", "password": "password123"}}, Status: 200, Want: ok},
		{Name: "email in another case", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: testkit.Form{"username": "Login-User@Example.com", "password": "password123"}}, Status: 200, Want: ok},
		{Name: "superuser", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: testkit.Form{"username": adminEmail, "password": adminPassword}}, Status: 200,
			Want: map[string]any{"is_superuser": true, "email": adminEmail}},
		{Name: "wrong password", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: testkit.Form{"username": "login-user@example.com", "password": "wrongpassword"}}, Status: 400, Want: bad},
		{Name: "unknown email same message", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: testkit.Form{"username": "nobody@example.com", "password": "password123"}}, Status: 400, Want: bad},
		{Name: "inactive user", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: testkit.Form{"username": "login-inactive@example.com", "password": "password123"}}, Status: 400,
			Want: map[string]any{"detail": "Inactive user", "code": "inactive_user"}},
		{Name: "inactive user wrong password reveals nothing", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: testkit.Form{"username": "login-inactive@example.com", "password": "wrongpassword"}}, Status: 400, Want: bad},
		{Name: "form missing password", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: testkit.Form{"username": "login-user@example.com"}}, Status: 422, Want: missing("password")},
		{Name: "form missing username", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: testkit.Form{"password": "password123"}}, Status: 422, Want: missing("username")},
		{Name: "json missing password", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: map[string]any{"email": "login-user@example.com"}}, Status: 422, Want: missing("password")},
		{Name: "empty body", Req: testkit.Req{Method: "POST", Path: loginPath}, Status: 422,
			Want: map[string]any{"code": "validation_failed"}},
		{Name: "bad grant type", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: testkit.Form{"username": "login-user@example.com", "password": "password123", "grant_type": "client_credentials"}}, Status: 422,
			Want: map[string]any{"detail": []any{map[string]any{"loc": []any{"body", "grant_type"}, "type": "string_pattern_mismatch", "msg": testkit.Present}}}},
		{Name: "malformed json", Req: testkit.Req{Method: "POST", Path: loginPath, Body: `{"email": "x`,
			Headers: map[string]string{"Content-Type": "application/json"}}, Status: 422,
			Want: map[string]any{"code": "validation_failed", "detail": []any{map[string]any{"loc": []any{"body"}, "type": "json_invalid", "msg": testkit.Present}}}},
		{Name: "wrong content type", Req: testkit.Req{Method: "POST", Path: loginPath, Body: "username=a&password=b",
			Headers: map[string]string{"Content-Type": "text/plain"}}, Status: 422, Want: map[string]any{"code": "validation_failed"}},
		{Name: "password of wrong type", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: map[string]any{"email": "login-user@example.com", "password": 12345678}}, Status: 422,
			Want: map[string]any{"detail": []any{map[string]any{"loc": []any{"body", "password"}, "type": "string_type", "msg": testkit.Present}}}},
		{Name: "no anon key", Req: testkit.Req{Method: "POST", Path: loginPath, NoKey: true,
			Body: testkit.Form{"username": "login-user@example.com", "password": "password123"}}, Status: 401},
		{Name: "superuser bearer on login is irrelevant", Req: testkit.Req{Method: "POST", Path: loginPath, Token: inactive.Access,
			Body: testkit.Form{"username": "login-user@example.com", "password": "password123"}}, Status: 200, Want: ok},
		{Name: "nul byte in username", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: map[string]any{"email": "login-user@example.com\x00", "password": "password123"}}, Status: 400, Want: bad},
		{Name: "nul byte in password", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: map[string]any{"email": "login-user@example.com", "password": "password123\x00"}}, Status: 400, Want: bad},
		// Under JSON_BODY_LIMIT_BYTES (1 MiB), a huge email is refused like any wrong one; over it, the body is.
		{Name: "512 KiB email", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: map[string]any{"email": strings.Repeat("a", 1<<19) + "@example.com", "password": "password123"}}, Status: 400, Want: bad},
		{Name: "1 MB email is over the JSON body limit", Req: testkit.Req{Method: "POST", Path: loginPath,
			Body: map[string]any{"email": strings.Repeat("a", 1<<20) + "@example.com", "password": "password123"}}, Status: 413, Want: map[string]any{"code": "body_too_large"}},
	})
}

// claims decodes a JWT's payload without verifying it.
func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAccessTokenClaims(t *testing.T) {
	a := start(t)
	s := newUser(t, a, "claims@example.com")
	c := claims(t, s.Access)
	if msg := testkit.Match(map[string]any{
		"sub": s.ID, "email": "claims@example.com", "is_superuser": false, "typ": "access",
		"jti": testkit.Present, "iat": testkit.Present, "exp": testkit.Present,
	}, c); msg != "" {
		t.Fatal(msg)
	}
	if life := c["exp"].(float64) - c["iat"].(float64); life != 3600 {
		t.Errorf("token lifetime %vs, want 3600 (ACCESS_TOKEN_EXPIRE_MINUTES=60)", life)
	}
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(s.Access, ".")[0])
	if !strings.Contains(string(header), `"HS256"`) {
		t.Errorf("header %s, want HS256", header)
	}
	other := login(t, a, "claims@example.com", "password123")
	if claims(t, other.Access)["jti"] == c["jti"] {
		t.Error("two tokens share a jti")
	}
	if other.Refresh == s.Refresh {
		t.Error("two logins share a refresh token")
	}
	if raw, err := base64.RawURLEncoding.DecodeString(s.Refresh); err != nil || len(raw) != 32 {
		t.Errorf("refresh token %q is not 32 URL-safe base64 bytes (%v)", s.Refresh, err)
	}
	if adm := claims(t, login(t, a, adminEmail, adminPassword).Access); adm["is_superuser"] != true {
		t.Errorf("superuser claims: %v", adm)
	}
}

package auth

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// A verified token is remembered until it expires, never past it, and a
// token that fails verification is never remembered.
func TestVerifiedTokensExpire(t *testing.T) {
	now := time.Now()
	tok := NewTokens("0123456789abcdef0123456789abcdef", time.Minute)
	tok.now = func() time.Time { return now }
	u := &User{ID: uuid.New(), Email: "t@example.com"}
	s, err := tok.Access(u)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // verified, then remembered
		id, exp, err := tok.ParseAccess(s)
		if err != nil || id != u.ID || !exp.After(now) {
			t.Fatalf("ParseAccess = %v %v %v", id, exp, err)
		}
	}
	if len(tok.verified) != 1 {
		t.Fatalf("%d tokens remembered, want 1", len(tok.verified))
	}
	now = now.Add(2 * time.Minute)
	if _, _, err := tok.ParseAccess(s); err == nil {
		t.Fatal("an expired token was accepted from memory")
	}
	other := NewTokens("another-secret-another-secret-another", time.Minute)
	forged, _ := other.Access(u)
	if _, _, err := tok.ParseAccess(forged); err == nil {
		t.Fatal("a token signed with another key verified")
	}
	if _, ok := tok.verified[forged]; ok {
		t.Fatal("a token that failed verification was remembered")
	}
}

// ParseLegacy takes the Python version's access tokens (HS256 with the
// same secret, sub = an email, no typ) and nothing else: not the Go
// server's own tokens, not another key's, not an expired one.
func TestParseLegacy(t *testing.T) {
	now := time.Now()
	tok := NewTokens("0123456789abcdef0123456789abcdef", time.Minute)
	tok.now = func() time.Time { return now }
	sign := func(secret string, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	key := "0123456789abcdef0123456789abcdef"
	python := sign(key, jwt.MapClaims{"sub": "alice@example.org", "exp": now.Add(time.Minute).Unix()})
	email, exp, err := tok.ParseLegacy(python)
	if err != nil || email != "alice@example.org" || exp.Unix() != now.Add(time.Minute).Unix() {
		t.Fatalf("ParseLegacy = %q %v %v", email, exp, err)
	}
	if _, _, err := tok.ParseAccess(python); err == nil {
		t.Fatal("ParseAccess took a Python-era token")
	}
	goToken, _ := tok.Access(&User{ID: uuid.New(), Email: "alice@example.org"})
	for name, s := range map[string]string{
		"the Go server's token": goToken,
		"another key":           sign("another-secret-another-secret-another", jwt.MapClaims{"sub": "alice@example.org", "exp": now.Add(time.Minute).Unix()}),
		"expired":               sign(key, jwt.MapClaims{"sub": "alice@example.org", "exp": now.Add(-time.Second).Unix()}),
		"no exp":                sign(key, jwt.MapClaims{"sub": "alice@example.org"}),
		"sub not an email":      sign(key, jwt.MapClaims{"sub": uuid.NewString(), "exp": now.Add(time.Minute).Unix()}),
	} {
		if email, _, err := tok.ParseLegacy(s); err == nil {
			t.Errorf("%s: ParseLegacy took it (%q)", name, email)
		}
	}
}

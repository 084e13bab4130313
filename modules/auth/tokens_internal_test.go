package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

const fuzzSecret = "fuzz-secret-0123456789abcdef0123456789"

var (
	fuzzNow  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fuzzUser = uuid.MustParse("6f1c2d3e-4b5a-4c6d-8e7f-0123456789ab")
)

// fuzzTokens verifies with fuzzSecret at fuzzNow.
func fuzzTokens() *Tokens {
	t := NewTokens(fuzzSecret, 15*time.Minute)
	t.now = func() time.Time { return fuzzNow }
	return t
}

// claimsAt are the claims Access writes, with a fixed jti.
func claimsAt(sub, typ string, exp time.Time) accessClaims {
	return accessClaims{Email: "a@example.com", Typ: typ, RegisteredClaims: jwt.RegisteredClaims{
		Subject: sub, IssuedAt: jwt.NewNumericDate(fuzzNow.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(exp),
		ID: "00000000-0000-0000-0000-000000000001",
	}}
}

func sign(t testing.TB, m jwt.SigningMethod, key any, c jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tokenSeeds are valid access tokens (the first ones) and near misses:
// another algorithm or key, alg none, expired, not an access token, a
// subject that is no UUID.
func tokenSeeds(t testing.TB) (valid, invalid []string) {
	key := []byte(fuzzSecret)
	exp := fuzzNow.Add(15 * time.Minute)
	good := claimsAt(fuzzUser.String(), "access", exp)
	valid = []string{
		sign(t, jwt.SigningMethodHS256, key, good),
		sign(t, jwt.SigningMethodHS256, key, claimsAt("urn:uuid:"+fuzzUser.String(), "access", exp)),
		// RFC 7519 wants a number, but the library also reads one in a string.
		sign(t, jwt.SigningMethodHS256, key, jwt.MapClaims{"sub": fuzzUser.String(), "typ": "access", "exp": "9999999999"}),
	}
	invalid = []string{
		sign(t, jwt.SigningMethodHS384, key, good),
		sign(t, jwt.SigningMethodHS512, key, good),
		sign(t, jwt.SigningMethodHS256, []byte("another secret"), good),
		sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good),
		sign(t, jwt.SigningMethodHS256, key, claimsAt(fuzzUser.String(), "access", fuzzNow)),
		sign(t, jwt.SigningMethodHS256, key, claimsAt(fuzzUser.String(), "refresh", exp)),
		sign(t, jwt.SigningMethodHS256, key, claimsAt("admin", "access", exp)),
		sign(t, jwt.SigningMethodHS256, key, jwt.MapClaims{"sub": fuzzUser.String(), "typ": "access"}),
		"", ".", "..", "a.b.c", "a.b.c.d", "eyJhbGciOiJIUzI1NiJ9..", "Bearer " + valid[0], valid[0] + "=",
	}
	return valid, invalid
}

// refVerify checks an access token as RFC 7515/7519 say, apart from Parse:
// three canonical base64url segments (no padding, no CR/LF, no stray bits),
// alg HS256, the HMAC-SHA256 of the first two under fuzzSecret, typ
// "access", exp after now (nbf, if any, not after it) and a UUID subject.
func refVerify(tok string) (uuid.UUID, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return uuid.Nil, false
	}
	seg := make([][]byte, 3)
	for i, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil || base64.RawURLEncoding.EncodeToString(b) != p {
			return uuid.Nil, false
		}
		seg[i] = b
	}
	var h map[string]any
	if json.Unmarshal(seg[0], &h) != nil || h["alg"] != "HS256" {
		return uuid.Nil, false
	}
	mac := hmac.New(sha256.New, []byte(fuzzSecret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(mac.Sum(nil), seg[2]) {
		return uuid.Nil, false
	}
	var c struct {
		Typ string `json:"typ"`
		Sub string `json:"sub"`
		// json.Number, as the JWT library reads NumericDate: it also
		// takes a number in a string ("exp": "1700000000").
		Exp *json.Number `json:"exp"`
		Nbf *json.Number `json:"nbf"`
	}
	if json.Unmarshal(seg[1], &c) != nil || c.Typ != "access" || c.Exp == nil {
		return uuid.Nil, false
	}
	exp, err := c.Exp.Float64()
	if err != nil || !fuzzNow.Before(time.Unix(int64(exp), 0)) {
		return uuid.Nil, false
	}
	if c.Nbf != nil {
		if nbf, err := c.Nbf.Float64(); err != nil || fuzzNow.Before(time.Unix(int64(nbf), 0)) {
			return uuid.Nil, false
		}
	}
	id, err := uuid.Parse(c.Sub)
	return id, err == nil
}

// FuzzParseToken: Parse never panics, and it accepts only tokens signed
// with the key and HS256 that refVerify accepts too, for the same user.
// The fuzzer cannot forge an HMAC, so an accepted token must be one of the
// valid seeds byte for byte: any mutation of one that still verifies (a
// second spelling of the same token) fails.
func FuzzParseToken(f *testing.F) {
	valid, invalid := tokenSeeds(f)
	for _, s := range append(valid, invalid...) {
		f.Add(s)
	}
	issued := map[string]bool{}
	for _, s := range valid {
		issued[s] = true
	}
	tk := fuzzTokens()
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := tk.Parse(tok)
		if err != nil {
			if id != uuid.Nil {
				t.Fatalf("refused token gave id %s", id)
			}
			return
		}
		want, ok := refVerify(tok)
		if !ok || id != want {
			t.Fatalf("Parse accepted %q as %s; reference: %s, %v", tok, id, want, ok)
		}
		if !issued[tok] {
			t.Fatalf("Parse accepted %q, a mutation of a valid token", tok)
		}
	})
}

// Every single-byte mutation (replace, insert, delete) of a valid token is
// refused, whatever the byte's position; the last character of a segment,
// whose low bits base64 may leave unused, is replaced by every other one.
func TestTokenMutations(t *testing.T) {
	tk := fuzzTokens()
	valid, invalid := tokenSeeds(t)
	for _, s := range valid {
		if id, err := tk.Parse(s); err != nil || id != fuzzUser {
			t.Fatalf("valid seed %q: %s, %v", s, id, err)
		}
		if _, ok := refVerify(s); !ok {
			t.Fatalf("reference refuses valid seed %q", s)
		}
	}
	for _, s := range invalid {
		if _, err := tk.Parse(s); err == nil {
			t.Errorf("invalid seed %q accepted", s)
		}
	}
	tok := valid[0]
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i <= len(tok); i++ {
		var muts []string
		some := "ABQRabgw019-_.=+/ \r\n\x00"
		if i < len(tok) {
			muts = append(muts, tok[:i]+tok[i+1:])
			if i == len(tok)-1 || tok[i+1] == '.' {
				some += alphabet
			}
		}
		for _, b := range []byte(some) {
			if i < len(tok) && tok[i] != b {
				muts = append(muts, tok[:i]+string(b)+tok[i+1:])
			}
			muts = append(muts, tok[:i]+string(b)+tok[i:])
		}
		for _, m := range muts {
			if _, err := tk.Parse(m); err == nil {
				t.Errorf("mutation at %d verifies: %q", i, m)
			}
		}
	}
}

// FuzzRefreshTokenHash: the stored hash is a function of the whole token
// text: 32 bytes, the same each time, and never the hash of a valid token
// for any other text (a hash of decoded base64, say, would let CR/LF or
// stray trailing bits spell the same token twice).
func FuzzRefreshTokenHash(f *testing.F) {
	tok, stored := "q1Rk3x7Vb2Zs0NwYe5Lc9HuTa4GjPm8oKiDfXvBnE6A", hashRefreshToken("q1Rk3x7Vb2Zs0NwYe5Lc9HuTa4GjPm8oKiDfXvBnE6A")
	for _, s := range []string{tok, tok[:42] + "B", tok + "\n", tok[:20] + "\r\n" + tok[20:], tok + "=", "", strings.Repeat("A", 513), "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := hashRefreshToken(s)
		if len(h) != sha256.Size || !bytes.Equal(h, hashRefreshToken(s)) {
			t.Fatalf("hash of %q: %x", s, h)
		}
		if s != tok && bytes.Equal(h, stored) {
			t.Fatalf("%q hashes like the token %q", s, tok)
		}
	})
}

// newRefreshToken makes 43 base64url characters (256 bits) and their hash.
func TestNewRefreshToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, h := newRefreshToken()
		b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
		if err != nil || len(b) != 32 || len(tok) != 43 || !bytes.Equal(h, hashRefreshToken(tok)) || seen[tok] {
			t.Fatalf("token %q (%v), hash %x", tok, err, h)
		}
		seen[tok] = true
	}
}

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

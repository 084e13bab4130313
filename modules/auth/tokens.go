package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// accessClaims are the claims of an access JWT (api.md §2.1).
type accessClaims struct {
	Email       string `json:"email"`
	IsSuperuser bool   `json:"is_superuser"`
	Typ         string `json:"typ"`
	jwt.RegisteredClaims
}

// Tokens signs and verifies access JWTs and makes refresh tokens.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time

	// verified remembers tokens that verified, until they expire: a client
	// sends the same token with every request, and checking its signature
	// and decoding its claims was a third of the CPU of GET /users/me.
	// What a token says never changes; whether its user may still act is
	// checked on every request regardless.
	mu       sync.RWMutex
	verified map[string]verifiedToken
}

type verifiedToken struct {
	id  uuid.UUID
	exp time.Time
}

// maxVerified bounds the remembered tokens; past it they are forgotten at
// once (and verified again as they come).
const maxVerified = 10000

// NewTokens builds a signer with the HS256 secret and the access-token lifetime.
func NewTokens(secret string, ttl time.Duration) *Tokens {
	return &Tokens{secret: []byte(secret), ttl: ttl, now: time.Now, verified: map[string]verifiedToken{}}
}

// Access issues an access JWT for u.
func (t *Tokens) Access(u *User) (string, error) {
	now := t.now()
	claims := accessClaims{
		Email: u.Email, IsSuperuser: u.IsSuperuser, Typ: "access",
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   u.ID.String(),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
			ID:        uuid.NewString(),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
}

var errBadToken = errors.New("auth: bad access token")

// Parse verifies an access JWT (HS256 only, not expired, typ "access") and
// returns the user id it names. Only the token's one spelling verifies: Go's
// base64 skips CR and LF, and ignores the unused bits of a last character
// unless strict, which would let a signature be written several ways.
func (t *Tokens) Parse(token string) (uuid.UUID, error) {
	id, _, err := t.ParseAccess(token)
	return id, err
}

// ParseAccess is Parse that also returns when the token expires.
func (t *Tokens) ParseAccess(token string) (uuid.UUID, time.Time, error) {
	t.mu.RLock()
	v, ok := t.verified[token]
	t.mu.RUnlock()
	if ok && t.now().Before(v.exp) {
		return v.id, v.exp, nil
	}
	id, exp, err := t.verify(token)
	if err != nil {
		return id, exp, err
	}
	t.remember(token, id, exp)
	return id, exp, nil
}

// verify checks a token's signature, algorithm, expiry and type.
func (t *Tokens) verify(token string) (uuid.UUID, time.Time, error) {
	if !compactJWS(token) {
		return uuid.Nil, time.Time{}, errBadToken
	}
	var claims accessClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now),
		jwt.WithStrictDecoding(),
	)
	if err != nil {
		return uuid.Nil, time.Time{}, err
	}
	if claims.Typ != "access" {
		return uuid.Nil, time.Time{}, errBadToken
	}
	id, err := uuid.Parse(claims.Subject)
	if err != nil {
		return uuid.Nil, time.Time{}, errBadToken
	}
	return id, claims.ExpiresAt.Time, nil
}

// legacyClaims are the claims of the Python version's access tokens:
// sub (the user's email) and exp.
type legacyClaims struct {
	Typ string `json:"typ"`
	jwt.RegisteredClaims
}

// ParseLegacy verifies an access token of the Python version (HS256 with the
// same secret, not expired, sub an email, no typ) and returns its email.
// Only Identity calls it, with AUTH_ACCEPT_LEGACY_TOKENS on.
func (t *Tokens) ParseLegacy(token string) (string, time.Time, error) {
	if !compactJWS(token) {
		return "", time.Time{}, errBadToken
	}
	var claims legacyClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now),
		jwt.WithStrictDecoding(),
	)
	if err != nil {
		return "", time.Time{}, err
	}
	if claims.Typ != "" || !strings.Contains(claims.Subject, "@") {
		return "", time.Time{}, errBadToken
	}
	return claims.Subject, claims.ExpiresAt.Time, nil
}

// remember keeps a token resolved to a user until it expires (ParseAccess
// then answers from memory): a Python-era token, once its email is resolved.
func (t *Tokens) remember(token string, id uuid.UUID, exp time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.verified) >= maxVerified {
		clear(t.verified)
	}
	t.verified[strings.Clone(token)] = verifiedToken{id: id, exp: exp}
}

// compactJWS reports whether s is made of base64url characters and dots only.
func compactJWS(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// newRefreshToken returns an opaque refresh token (256 random bits,
// URL-safe base64) and the hash that is stored instead of it.
func newRefreshToken() (string, []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24).
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	return tok, hashRefreshToken(tok)
}

// hashRefreshToken is the stored form of a refresh token.
func hashRefreshToken(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}

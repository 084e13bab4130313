package auth

import (
	"testing"
	"time"

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

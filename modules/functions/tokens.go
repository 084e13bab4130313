package functions

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/config"
)

// ownerTokens keeps an access token per function owner for callBackend,
// minted again well before it expires.
type ownerTokens struct {
	issuer TokenIssuer
	keep   time.Duration
	mu     sync.Mutex
	tokens map[uuid.UUID]ownerToken
}

type ownerToken struct {
	token string
	until time.Time
}

func newOwnerTokens(issuer TokenIssuer, cfg *config.Config) *ownerTokens {
	keep := time.Duration(cfg.AccessTokenExpireMinutes) * time.Minute / 2
	return &ownerTokens{issuer: issuer, keep: min(keep, 10*time.Minute), tokens: map[uuid.UUID]ownerToken{}}
}

// get returns the owner's token, "" when the owner can't have one (gone or
// deactivated): callBackend then calls with the anon key alone.
func (o *ownerTokens) get(ctx context.Context, owner uuid.UUID) string {
	now := time.Now()
	o.mu.Lock()
	t, ok := o.tokens[owner]
	o.mu.Unlock()
	if ok && now.Before(t.until) {
		return t.token
	}
	keep := o.keep
	tok, err := o.issuer.AccessToken(ctx, owner)
	if err != nil {
		// Asked again soon: the owner may be reactivated, the database back.
		tok, keep = "", min(keep, 30*time.Second)
	}
	o.mu.Lock()
	o.tokens[owner] = ownerToken{token: tok, until: now.Add(keep)}
	o.mu.Unlock()
	return tok
}

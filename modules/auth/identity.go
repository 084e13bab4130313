package auth

import (
	"context"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/identity"
)

// userLoader reads a user by id from Postgres; it returns nil, nil when
// there is no such user.
type userLoader interface {
	UserByID(ctx context.Context, id uuid.UUID) (*User, error)
}

// Identity answers "who is calling?" for every module (api.md §0.3): it is
// the identity.Resolver behind the platform's middleware, and resolves the
// tokens of WebSockets too.
type Identity struct {
	tokens *Tokens
	users  *userCache
}

var _ identity.Resolver = (*Identity)(nil)

// NewIdentity builds the Identity over the token verifier and the users.
func NewIdentity(tokens *Tokens, users *userCache) *Identity {
	return &Identity{tokens: tokens, users: users}
}

// Resolve returns the principal of an access token: Anon for a token that
// is not valid, or whose user is deleted or deactivated. The user's current
// record decides (not the token's claims), so a deactivated, deleted or
// demoted user loses access on the next request.
func (i *Identity) Resolve(ctx context.Context, token string) (*identity.Principal, error) {
	if token == "" {
		return identity.Anon, nil
	}
	id, exp, err := i.tokens.ParseAccess(token)
	if err != nil {
		return identity.Anon, nil
	}
	u, err := i.users.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if u == nil || !u.IsActive {
		return identity.Anon, nil
	}
	p := identity.User(u.ID, u.Email, u.IsSuperuser)
	p.Expires = exp
	return p, nil
}

// UserCacheKey is the memcached key of a user record. Absence is cached
// too (as null): ids are random and never reused, so a deleted user's
// still-signed tokens cost no query each.
func UserCacheKey(c *cache.Cache, id uuid.UUID) string { return c.Key("users", id.String()) }

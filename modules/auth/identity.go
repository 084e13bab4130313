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
	cache  *cache.Cache
	users  userLoader
}

var _ identity.Resolver = (*Identity)(nil)

// NewIdentity builds the Identity over the token verifier, the cache and the users table.
func NewIdentity(tokens *Tokens, c *cache.Cache, users userLoader) *Identity {
	return &Identity{tokens: tokens, cache: c, users: users}
}

// Resolve returns the principal of an access token: Anon for a token that
// is not valid, or whose user is deleted or deactivated. The user's current
// record decides (not the token's claims), so a deactivated, deleted or
// demoted user loses access on the next request.
func (i *Identity) Resolve(ctx context.Context, token string) (*identity.Principal, error) {
	if token == "" {
		return identity.Anon, nil
	}
	id, err := i.tokens.Parse(token)
	if err != nil {
		return identity.Anon, nil
	}
	u, err := cachedUser(ctx, i.cache, i.users, id)
	if err != nil {
		return nil, err
	}
	if u == nil || !u.IsActive {
		return identity.Anon, nil
	}
	return identity.User(u.ID, u.Email, u.IsSuperuser), nil
}

// cachedUser reads users:<id> through the cache; nil, nil when missing.
// Absence is cached too (as null): ids are random and never reused, so a
// deleted user's still-signed tokens cost no query each.
func cachedUser(ctx context.Context, c *cache.Cache, users userLoader, id uuid.UUID) (*User, error) {
	return cache.GetOrLoad(ctx, c, UserCacheKey(c, id), 0, func(ctx context.Context) (*User, error) {
		return users.UserByID(ctx, id)
	})
}

// UserCacheKey is the cache key of a user record.
func UserCacheKey(c *cache.Cache, id uuid.UUID) string { return c.Key("users", id.String()) }

package auth

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/identity"
)

// userLoader reads a user by id from Postgres; it returns nil, nil when
// there is no such user.
type userLoader interface {
	UserByID(ctx context.Context, id uuid.UUID) (*User, error)
}

// legacyUsers finds the user a Python-era token names by email.
type legacyUsers interface {
	// UserIDByEmail returns the id of the user with this email (any
	// case), or uuid.Nil.
	UserIDByEmail(ctx context.Context, email string) (uuid.UUID, error)
}

// Identity answers "who is calling?" for every module (api.md §0.3): it is
// the identity.Resolver behind the platform's middleware, and resolves the
// tokens of WebSockets too.
type Identity struct {
	tokens *Tokens
	users  *userCache
	legacy legacyUsers // nil unless AUTH_ACCEPT_LEGACY_TOKENS
}

var _ identity.Resolver = (*Identity)(nil)

// NewIdentity builds the Identity over the token verifier and the users;
// with legacy set it also accepts the Python version's access tokens.
func NewIdentity(tokens *Tokens, users *userCache, legacy legacyUsers) *Identity {
	return &Identity{tokens: tokens, users: users, legacy: legacy}
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
		if i.legacy == nil {
			return identity.Anon, nil
		}
		if id, exp, err = i.resolveLegacy(ctx, token); err != nil {
			return nil, err
		}
		if id == uuid.Nil {
			return identity.Anon, nil
		}
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

// resolveLegacy resolves a Python-era access token (sub = the user's
// email) to its user's id, or uuid.Nil. The token is then remembered with
// that id until it expires, so that the email is looked up once per token;
// whether the user may act is checked on every request, as for any token.
func (i *Identity) resolveLegacy(ctx context.Context, token string) (uuid.UUID, time.Time, error) {
	email, exp, err := i.tokens.ParseLegacy(token)
	if err != nil {
		return uuid.Nil, exp, nil
	}
	id, err := i.legacy.UserIDByEmail(ctx, email)
	if err != nil || id == uuid.Nil {
		return uuid.Nil, exp, err
	}
	i.tokens.remember(token, id, exp)
	return id, exp, nil
}

// UserCacheKey is the memcached key of a user record. Absence is cached
// too (as null): ids are random and never reused, so a deleted user's
// still-signed tokens cost no query each.
func UserCacheKey(c *cache.Cache, id uuid.UUID) string { return c.Key("users", id.String()) }

package auth

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/cache"
)

// userLoader reads a user by id from Postgres; it returns nil, nil when
// there is no such user.
type userLoader interface {
	UserByID(ctx context.Context, id uuid.UUID) (*User, error)
}

// Identity answers "who is calling?" for every module (api.md §0.3).
type Identity struct {
	tokens *Tokens
	cache  *cache.Cache
	users  userLoader
}

// NewIdentity builds the Identity over the token verifier, the cache and the users table.
func NewIdentity(tokens *Tokens, c *cache.Cache, users userLoader) *Identity {
	return &Identity{tokens: tokens, cache: c, users: users}
}

type callerKey struct{}

// caller is the memoised result of resolving a request's identity.
type caller struct {
	user *User
	err  error
}

// Caller returns the request's principal, or nil, nil for anon (no, invalid
// or expired Bearer token, or a deleted or deactivated user). The result is
// memoised per request.
func (i *Identity) Caller(c *fiber.Ctx) (*Principal, error) {
	u, err := i.CurrentUser(c)
	if u == nil || err != nil {
		return nil, err
	}
	return &Principal{ID: u.ID, Email: u.Email, IsSuperuser: u.IsSuperuser}, nil
}

// CurrentUser is Caller with the whole (cached) user record.
func (i *Identity) CurrentUser(c *fiber.Ctx) (*User, error) {
	if r, ok := c.Locals(callerKey{}).(*caller); ok {
		return r.user, r.err
	}
	u, err := i.userFromToken(c.UserContext(), bearer(c))
	c.Locals(callerKey{}, &caller{user: u, err: err})
	return u, err
}

// RequireUser is a route guard: 401 with WWW-Authenticate unless a user calls.
func (i *Identity) RequireUser(c *fiber.Ctx) error {
	p, err := i.Caller(c)
	if err != nil {
		return err
	}
	if p == nil {
		return ErrNotAuthenticated
	}
	return c.Next()
}

// RequireSuperuser is a route guard: 401 for anon, 403 for a non-superuser.
func (i *Identity) RequireSuperuser(c *fiber.Ctx) error {
	p, err := i.Caller(c)
	if err != nil {
		return err
	}
	if p == nil {
		return ErrNotAuthenticated
	}
	if !p.IsSuperuser {
		return ErrNotEnoughPrivileges
	}
	return c.Next()
}

// FromToken resolves an access token outside HTTP (WebSockets); nil, nil
// when the token or its user is not valid.
func (i *Identity) FromToken(ctx context.Context, token string) (*Principal, error) {
	u, err := i.userFromToken(ctx, token)
	if u == nil || err != nil {
		return nil, err
	}
	return &Principal{ID: u.ID, Email: u.Email, IsSuperuser: u.IsSuperuser}, nil
}

// userFromToken verifies token and loads its user through the cache. The
// user's current record decides (not the token's claims), so a deactivated,
// deleted or demoted user loses access on the next request.
func (i *Identity) userFromToken(ctx context.Context, token string) (*User, error) {
	if token == "" {
		return nil, nil
	}
	id, err := i.tokens.Parse(token)
	if err != nil {
		return nil, nil
	}
	u, err := cachedUser(ctx, i.cache, i.users, id)
	if err != nil || u == nil || !u.IsActive {
		return nil, err
	}
	return u, nil
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

// bearer returns the Bearer token of the Authorization header, or "".
func bearer(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

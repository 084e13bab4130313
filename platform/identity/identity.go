package identity

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

// Role is what a principal may do (api.md §0.3).
type Role uint8

// The roles, from least to most privileged. Service is the role of work that
// has no HTTP request (schedules, database triggers, imports): it has
// superuser rights and no user id.
const (
	RoleAnon Role = iota
	RoleUser
	RoleSuperuser
	RoleService
)

// String names the role as logs and metrics show it.
func (r Role) String() string {
	switch r {
	case RoleUser:
		return "user"
	case RoleSuperuser:
		return "superuser"
	case RoleService:
		return "service"
	}
	return "anon"
}

// Principal is who calls: anon, a user, a superuser or the service. Its
// methods are nil-safe; a nil *Principal is anon.
type Principal struct {
	// ID is the user's id; zero for anon and service.
	ID    uuid.UUID
	Email string
	Role  Role
	// Expires is when the credential the principal was resolved from
	// expires (zero: never). Long-lived connections (WebSockets) end then.
	Expires time.Time
}

// Anon is the principal of a request without a valid user token.
var Anon = &Principal{Role: RoleAnon}

// Service is the principal of background work (no user, superuser rights).
var Service = &Principal{Role: RoleService}

// User returns the principal of an active account.
func User(id uuid.UUID, email string, superuser bool) *Principal {
	p := &Principal{ID: id, Email: email, Role: RoleUser}
	if superuser {
		p.Role = RoleSuperuser
	}
	return p
}

// IsAnon reports a caller with no user (nil counts as anon).
func (p *Principal) IsAnon() bool { return p == nil || p.Role == RoleAnon }

// IsUser reports a signed-in account (superusers included, service not).
func (p *Principal) IsUser() bool { return p != nil && (p.Role == RoleUser || p.Role == RoleSuperuser) }

// IsSuperuser reports superuser rights: a superuser or the service role.
func (p *Principal) IsSuperuser() bool {
	return p != nil && (p.Role == RoleSuperuser || p.Role == RoleService)
}

// Is reports whether p is the user id.
func (p *Principal) Is(id uuid.UUID) bool { return p.IsUser() && p.ID == id }

// Resolver turns an access token into its principal; modules/auth provides
// it. It returns Anon (never an error) for a token that is not valid or whose
// user is gone or inactive; errors are for an unreachable database.
type Resolver interface {
	Resolve(ctx context.Context, token string) (*Principal, error)
}

type localsKey struct{}

// lazy resolves a request's principal on first use, once.
type lazy struct {
	resolver Resolver
	token    string
	done     bool
	p        *Principal
	err      error
}

// Middleware makes From work for the requests after it. It reads the Bearer
// token but resolves it only when a handler asks, so routes that never need
// the caller cost nothing.
func Middleware(r Resolver) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if tok := Bearer(c); tok != "" && r != nil {
			// The token is copied: Fiber reuses the header buffer after the request.
			c.Locals(localsKey{}, &lazy{resolver: r, token: strings.Clone(tok)})
		}
		return c.Next()
	}
}

// From returns the request's principal, Anon when it carries no valid token.
func From(c *fiber.Ctx) (*Principal, error) {
	l, ok := c.Locals(localsKey{}).(*lazy)
	if !ok {
		return Anon, nil
	}
	if !l.done {
		l.p, l.err = l.resolver.Resolve(c.UserContext(), l.token)
		if l.p == nil && l.err == nil {
			l.p = Anon
		}
		l.done = true
	}
	return l.p, l.err
}

// UserFrom is From for routes behind RequireUser: anon is ErrNotAuthenticated.
func UserFrom(c *fiber.Ctx) (*Principal, error) {
	p, err := From(c)
	if err == nil && !p.IsUser() {
		err = ErrNotAuthenticated
	}
	return p, err
}

// RequireUser is a route guard: 401 with WWW-Authenticate unless a user calls.
func RequireUser(c *fiber.Ctx) error {
	if _, err := UserFrom(c); err != nil {
		return err
	}
	return c.Next()
}

// RequireSuperuser is a route guard: 401 for anon, 403 for a non-superuser.
func RequireSuperuser(c *fiber.Ctx) error {
	p, err := UserFrom(c)
	if err != nil {
		return err
	}
	if !p.IsSuperuser() {
		return ErrNotEnoughPrivileges
	}
	return c.Next()
}

// Bearer returns the Bearer token of the Authorization header, or "".
func Bearer(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

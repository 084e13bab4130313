package auth

import (
	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// Routes mounts /api/v1/auth.
type Routes struct {
	h *Handler
}

var (
	_ httpserver.Routes = (*Routes)(nil)
	_ httpserver.Public = (*Routes)(nil)
)

// RefreshPath is the token refresh, the one auth route that needs no anon key.
const RefreshPath = "/api/v1/auth/refresh"

// PublicPrefixes: the refresh token is the credential of /refresh (api.md
// §0.2, §2); the original admin UI refreshes without the anon key. Only
// that exact path: every other auth route still needs the key.
func (r *Routes) PublicPrefixes() []string { return []string{RefreshPath} }

// NewRoutes builds the auth routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// Register adds the routes of api.md §2.
func (r *Routes) Register(router fiber.Router) {
	g := router.Group("/api/v1/auth")
	g.Post("/login", r.h.login)
	g.Post("/register", r.h.register)
	router.Post(RefreshPath, r.h.refresh)
	g.Post("/logout", r.h.logout)
	g.Post("/logout-all", identity.RequireUser, r.h.logoutAll)
}

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

var _ httpserver.Routes = (*Routes)(nil)

// NewRoutes builds the auth routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// Register adds the routes of api.md §2.
func (r *Routes) Register(router fiber.Router) {
	g := router.Group("/api/v1/auth")
	g.Post("/login", r.h.login)
	g.Post("/register", r.h.register)
	g.Post("/refresh", r.h.refresh)
	g.Post("/logout", r.h.logout)
	g.Post("/logout-all", identity.RequireUser, r.h.logoutAll)
}

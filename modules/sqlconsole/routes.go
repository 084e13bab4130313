package sqlconsole

import (
	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// Routes registers /api/v1/sql (superuser only).
type Routes struct {
	h *Handler
}

var _ httpserver.Routes = (*Routes)(nil)

// NewRoutes builds the routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// Register adds the SQL routes, each behind RequireSuperuser.
func (r *Routes) Register(app fiber.Router) {
	g := app.Group("/api/v1/sql")
	su := identity.RequireSuperuser
	g.Post("/query", su, r.h.Query)
	g.Get("/snippets", su, r.h.Snippets)
	g.Post("/snippets", su, r.h.AddSnippet)
	g.Put("/snippets/:id", su, r.h.UpdateSnippet)
	g.Delete("/snippets/:id", su, r.h.DeleteSnippet)
	g.Get("/history", su, r.h.History)
	g.Post("/history", su, r.h.AddHistory)
}

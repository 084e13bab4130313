package functions

import (
	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// InvokePrefix is where the JS SDK calls functions; request bodies under it
// are streamed to the function, not buffered.
const InvokePrefix = "/api/v1/functions/invoke/"

// Routes mounts /api/v1/functions.
type Routes struct {
	h *Handler
}

var (
	_ httpserver.Routes   = (*Routes)(nil)
	_ httpserver.Streamer = (*Routes)(nil)
)

// NewRoutes builds the routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// StreamPrefixes exempts invocations from the buffered body limit.
func (r *Routes) StreamPrefixes() []string { return []string{InvokePrefix} }

// Register adds the routes of api.md §9: management for superusers, and the
// invocation routes, whose policy each function sets.
func (r *Routes) Register(app fiber.Router) {
	g := app.Group("/api/v1/functions")
	su := identity.RequireSuperuser
	g.Get("", su, r.h.list)
	g.Post("", su, r.h.create)
	g.Get("/templates/:type", su, r.h.template)
	g.Post("/events/:event", su, r.h.emit)
	g.All("/invoke/:name", r.h.invoke)
	g.All("/invoke/:name/*", r.h.invoke)
	g.Post("/:name", r.h.invokeByName)
	g.Get("/:function_id", su, r.h.get)
	g.Put("/:function_id", su, r.h.update)
	g.Delete("/:function_id", su, r.h.delete)
	g.Get("/:function_id/versions", su, r.h.versions)
	g.Post("/:function_id/versions/:n/restore", su, r.h.restore)
	g.Get("/:function_id/env", su, r.h.env)
	g.Post("/:function_id/env", su, r.h.createEnv)
	g.Put("/:function_id/env/:env_id", su, r.h.updateEnv)
	g.Delete("/:function_id/env/:env_id", su, r.h.deleteEnv)
	g.Get("/:function_id/logs", su, r.h.logs)
}

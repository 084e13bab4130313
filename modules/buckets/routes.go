package buckets

import (
	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// Routes mounts /api/v1/buckets. GET /api/v1/buckets/{id}/files is served
// by modules/files.
type Routes struct {
	h *Handler
}

var _ httpserver.Routes = (*Routes)(nil)

// NewRoutes builds the routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// Register adds the routes of api.md §4.
func (r *Routes) Register(app fiber.Router) {
	g := app.Group("/api/v1/buckets")
	g.Get("", r.h.list)
	g.Get("/public", r.h.listPublic)
	g.Post("", identity.RequireUser, r.h.create)
	g.Get("/:bucket_id", r.h.get)
	g.Put("/:bucket_id", identity.RequireUser, r.h.update)
	g.Delete("/:bucket_id", identity.RequireUser, r.h.delete)
}

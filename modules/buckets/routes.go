package buckets

import (
	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/platform/httpserver"
)

// Routes mounts /api/v1/buckets. GET /api/v1/buckets/{id}/files is served
// by modules/files.
type Routes struct {
	h  *Handler
	id *auth.Identity
}

var _ httpserver.Routes = (*Routes)(nil)

// NewRoutes builds the routes.
func NewRoutes(h *Handler, id *auth.Identity) *Routes { return &Routes{h: h, id: id} }

// Register adds the routes of api.md §4.
func (r *Routes) Register(app fiber.Router) {
	g := app.Group("/api/v1/buckets")
	g.Get("", r.h.list)
	g.Get("/public", r.h.listPublic)
	g.Post("", r.id.RequireUser, r.h.create)
	g.Get("/:bucket_id", r.h.get)
	g.Put("/:bucket_id", r.id.RequireUser, r.h.update)
	g.Delete("/:bucket_id", r.id.RequireUser, r.h.delete)
}

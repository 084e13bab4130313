package tables

import (
	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// Routes registers /api/v1/tables.
type Routes struct {
	h *Handler
}

var _ httpserver.Routes = (*Routes)(nil)

// NewRoutes builds the routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// Register adds the tables routes. Row and read routes check the table's
// policy in the service; DDL is superuser-only.
func (r *Routes) Register(app fiber.Router) {
	g := app.Group("/api/v1/tables")
	su := identity.RequireSuperuser
	g.Get("", r.h.List)
	g.Post("", su, r.h.Create)
	g.Get("/:table", r.h.Get)
	g.Put("/:table", su, r.h.UpdateTable)
	g.Delete("/:table", su, r.h.Drop)
	g.Get("/:table/structure", r.h.Structure)
	g.Get("/:table/sql", su, r.h.CreateSQL)
	g.Get("/:table/data", r.h.Data)
	g.Post("/:table/data", r.h.Insert)
	g.Put("/:table/data/:id", r.h.UpdateRow)
	g.Delete("/:table/data/:id", r.h.DeleteRow)
	g.Post("/:table/columns", su, r.h.AddColumn)
	g.Put("/:table/columns/:column", su, r.h.UpdateColumn)
	g.Delete("/:table/columns/:column", su, r.h.DropColumn)
}

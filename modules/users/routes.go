package users

import (
	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// Routes mounts /api/v1/users.
type Routes struct {
	h *Handler
}

var _ httpserver.Routes = (*Routes)(nil)

// NewRoutes builds the users routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// Register adds the routes of api.md §3; the fixed paths come before /{user_id}.
func (r *Routes) Register(router fiber.Router) {
	const base = "/api/v1/users"
	user, super := identity.RequireUser, identity.RequireSuperuser
	router.Get(base+"/me", user, r.h.me)
	router.Put(base+"/me", user, r.h.updateMe)
	router.Put(base+"/me/password", user, r.h.changePassword)
	router.Get(base+"/me/anon-key", user, r.h.anonKeyOf)
	router.Get(base+"/list", user, r.h.listNonSuperusers)
	router.Get(base+"/count", user, r.h.count)
	router.Get(base, super, r.h.list)
	router.Post(base, super, r.h.create)
	router.Get(base+"/:user_id", user, r.h.get)
	router.Put(base+"/:user_id", super, r.h.update)
	router.Delete(base+"/:user_id", super, r.h.delete)
}

package users

import (
	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// Paging limits of the list routes.
// maxLimit bounds a page of users.
const maxLimit = 1000

// Handler parses users requests and calls the Service.
type Handler struct {
	svc     *Service
	anonKey string
}

// NewHandler builds the handler.
func NewHandler(svc *Service, cfg *config.Config) *Handler {
	return &Handler{svc: svc, anonKey: cfg.AnonKey}
}

// caller is the principal the route guard let through.
func (h *Handler) caller(c *fiber.Ctx) (*identity.Principal, error) { return identity.UserFrom(c) }

func (h *Handler) me(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	u, err := h.svc.Get(c.UserContext(), p, p.ID)
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (h *Handler) updateMe(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	var in updateMe
	if err := httpserver.DecodeJSON(c, &in); err != nil {
		return err
	}
	u, err := h.svc.UpdateMe(c.UserContext(), p, in)
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (h *Handler) changePassword(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	var in updatePassword
	if err := httpserver.DecodeJSON(c, &in); err != nil {
		return err
	}
	if err := h.svc.ChangePassword(c.UserContext(), p, in); err != nil {
		return err
	}
	return c.JSON(true)
}

func (h *Handler) list(c *fiber.Ctx) error {
	skip, limit, err := httpserver.Page(c, maxLimit)
	pg := Page{Skip: skip, Limit: limit}
	if err != nil {
		return err
	}
	out, err := h.svc.List(c.UserContext(), pg)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (h *Handler) listNonSuperusers(c *fiber.Ctx) error {
	skip, limit, err := httpserver.Page(c, maxLimit)
	pg := Page{Skip: skip, Limit: limit}
	if err != nil {
		return err
	}
	out, err := h.svc.ListNonSuperusers(c.UserContext(), pg)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (h *Handler) count(c *fiber.Ctx) error {
	n, err := h.svc.CountNonSuperusers(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(n)
}

func (h *Handler) anonKeyOf(c *fiber.Ctx) error {
	return c.JSON(anonKey{AnonKey: h.anonKey})
}

func (h *Handler) get(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	id, err := httpserver.PathUUID(c, "user_id")
	if err != nil {
		return err
	}
	u, err := h.svc.Get(c.UserContext(), p, id)
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (h *Handler) create(c *fiber.Ctx) error {
	var in createUser
	if err := httpserver.DecodeJSON(c, &in); err != nil {
		return err
	}
	u, err := h.svc.Create(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (h *Handler) update(c *fiber.Ctx) error {
	id, err := httpserver.PathUUID(c, "user_id")
	if err != nil {
		return err
	}
	var in updateUser
	if err := httpserver.DecodeJSON(c, &in); err != nil {
		return err
	}
	u, err := h.svc.Update(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (h *Handler) delete(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	id, err := httpserver.PathUUID(c, "user_id")
	if err != nil {
		return err
	}
	if err := h.svc.Delete(c.UserContext(), p, id); err != nil {
		return err
	}
	return c.JSON(true)
}

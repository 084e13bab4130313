package buckets

import (
	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// MaxLimit bounds a page.
const MaxLimit = 1000

// Handler turns HTTP requests into service calls.
type Handler struct {
	svc *Service
}

// NewHandler builds the handler.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc} }

func listOut(rows []WithStats) []OutWithStats {
	out := make([]OutWithStats, len(rows))
	for i := range rows {
		out[i] = toOutWithStats(&rows[i])
	}
	return out
}

func (h *Handler) list(c *fiber.Ctx) error {
	skip, limit, err := httpserver.Page(c, MaxLimit)
	if err != nil {
		return err
	}
	p, err := identity.From(c)
	if err != nil {
		return err
	}
	rows, err := h.svc.List(c.UserContext(), p, skip, limit)
	if err != nil {
		return err
	}
	return c.JSON(listOut(rows))
}

func (h *Handler) listPublic(c *fiber.Ctx) error {
	skip, limit, err := httpserver.Page(c, MaxLimit)
	if err != nil {
		return err
	}
	rows, err := h.svc.ListPublic(c.UserContext(), skip, limit)
	if err != nil {
		return err
	}
	return c.JSON(listOut(rows))
}

func (h *Handler) create(c *fiber.Ctx) error {
	var req CreateRequest
	if err := httpserver.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return apperr.Validation(apperr.Field("body", "name", "Field required", "missing"))
	}
	p, err := identity.From(c)
	if err != nil {
		return err
	}
	public := req.IsPublic != nil && *req.IsPublic
	b, err := h.svc.Create(c.UserContext(), p, *req.Name, req.Description, public)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(ToOut(b))
}

func (h *Handler) get(c *fiber.Ctx) error {
	id, err := httpserver.PathUUID(c, "bucket_id")
	if err != nil {
		return err
	}
	p, err := identity.From(c)
	if err != nil {
		return err
	}
	b, err := h.svc.Read(c.UserContext(), p, id)
	if err != nil {
		return err
	}
	return c.JSON(toOutWithStats(b))
}

func (h *Handler) update(c *fiber.Ctx) error {
	id, err := httpserver.PathUUID(c, "bucket_id")
	if err != nil {
		return err
	}
	var req UpdateRequest
	if err := httpserver.DecodeJSON(c, &req); err != nil {
		return err
	}
	p, err := identity.From(c)
	if err != nil {
		return err
	}
	b, err := h.svc.Update(c.UserContext(), p, id, req)
	if err != nil {
		return err
	}
	return c.JSON(ToOut(b))
}

func (h *Handler) delete(c *fiber.Ctx) error {
	id, err := httpserver.PathUUID(c, "bucket_id")
	if err != nil {
		return err
	}
	p, err := identity.From(c)
	if err != nil {
		return err
	}
	if err := h.svc.Delete(c.UserContext(), p, id); err != nil {
		return err
	}
	return c.JSON(true)
}

package sqlconsole

import (
	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// Handler turns requests into service calls; the routes guarantee a superuser.
type Handler struct {
	svc *Service
}

// NewHandler builds the handler.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc} }

func (h *Handler) principal(c *fiber.Ctx) (*identity.Principal, error) { return identity.UserFrom(c) }

// Query is POST /sql/query.
func (h *Handler) Query(c *fiber.Ctx) error {
	p, err := h.principal(c)
	if err != nil {
		return err
	}
	var in QueryIn
	if err := httpserver.DecodeJSON(c, &in); err != nil {
		return err
	}
	res, err := h.svc.Run(c.UserContext(), p, in)
	if err != nil {
		return err
	}
	if !res.Success {
		return c.JSON(QueryFailed{Error: res.Error})
	}
	return c.JSON(res)
}

// Snippets is GET /sql/snippets.
func (h *Handler) Snippets(c *fiber.Ctx) error {
	p, err := h.principal(c)
	if err != nil {
		return err
	}
	out, err := h.svc.Snippets(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// AddSnippet is POST /sql/snippets.
func (h *Handler) AddSnippet(c *fiber.Ctx) error {
	p, err := h.principal(c)
	if err != nil {
		return err
	}
	var in SnippetIn
	if err := httpserver.DecodeJSON(c, &in); err != nil {
		return err
	}
	out, err := h.svc.AddSnippet(c.UserContext(), p, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// UpdateSnippet is PUT /sql/snippets/{id}.
func (h *Handler) UpdateSnippet(c *fiber.Ctx) error {
	p, err := h.principal(c)
	if err != nil {
		return err
	}
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	var in SnippetPatch
	if err := httpserver.DecodeJSON(c, &in); err != nil {
		return err
	}
	out, err := h.svc.UpdateSnippet(c.UserContext(), p, id, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// DeleteSnippet is DELETE /sql/snippets/{id}.
func (h *Handler) DeleteSnippet(c *fiber.Ctx) error {
	p, err := h.principal(c)
	if err != nil {
		return err
	}
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	out, err := h.svc.DeleteSnippet(c.UserContext(), p, id)
	if err != nil {
		return err
	}
	return c.JSON(SnippetDeleted{Message: "Snippet deleted successfully", DeletedSnippet: out})
}

// History is GET /sql/history.
func (h *Handler) History(c *fiber.Ctx) error {
	p, err := h.principal(c)
	if err != nil {
		return err
	}
	page, err := httpserver.QueryInt(c, "page", 1, 1, 1<<30)
	if err != nil {
		return err
	}
	size, err := httpserver.QueryInt(c, "page_size", 20, 1, 100)
	if err != nil {
		return err
	}
	out, err := h.svc.History(c.UserContext(), p, page, size)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// AddHistory is POST /sql/history.
func (h *Handler) AddHistory(c *fiber.Ctx) error {
	p, err := h.principal(c)
	if err != nil {
		return err
	}
	var in HistoryIn
	if err := httpserver.DecodeJSON(c, &in); err != nil {
		return err
	}
	out, err := h.svc.AddHistory(c.UserContext(), p, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

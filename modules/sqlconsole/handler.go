package sqlconsole

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/platform/apperr"
)

// Handler turns requests into service calls; the routes guarantee a superuser.
type Handler struct {
	svc *Service
	id  *auth.Identity
}

// NewHandler builds the handler.
func NewHandler(svc *Service, id *auth.Identity) *Handler { return &Handler{svc: svc, id: id} }

func decode(c *fiber.Ctx, v any) error {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		return apperr.Validation(apperr.Field("body", "", "Request body is required", "missing"))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return apperr.Validation(apperr.Field("body", "", "Invalid JSON body: "+err.Error(), "json_invalid"))
	}
	return nil
}

func (h *Handler) principal(c *fiber.Ctx) (*auth.Principal, error) {
	p, err := h.id.Caller(c)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, auth.ErrNotAuthenticated
	}
	return p, nil
}

func snippetID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, apperr.Validation(apperr.Field("path", "snippet_id", "Input should be a valid UUID", "uuid_parsing"))
	}
	return id, nil
}

func intQuery(c *fiber.Ctx, name string, def, lo, hi int) (int, error) {
	raw := c.Query(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, apperr.Validation(apperr.Field("query", name,
			"Input should be an integer between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi), "value_error"))
	}
	return n, nil
}

// Query is POST /sql/query.
func (h *Handler) Query(c *fiber.Ctx) error {
	p, err := h.principal(c)
	if err != nil {
		return err
	}
	var in QueryIn
	if err := decode(c, &in); err != nil {
		return err
	}
	res, err := h.svc.Run(c.UserContext(), p, in)
	if err != nil {
		return err
	}
	if !res.Success {
		return c.JSON(fiber.Map{"success": false, "error": res.Error})
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
	if err := decode(c, &in); err != nil {
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
	id, err := snippetID(c)
	if err != nil {
		return err
	}
	var in SnippetPatch
	if err := decode(c, &in); err != nil {
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
	id, err := snippetID(c)
	if err != nil {
		return err
	}
	out, err := h.svc.DeleteSnippet(c.UserContext(), p, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"message": "Snippet deleted successfully", "deleted_snippet": out})
}

// History is GET /sql/history.
func (h *Handler) History(c *fiber.Ctx) error {
	p, err := h.principal(c)
	if err != nil {
		return err
	}
	page, err := intQuery(c, "page", 1, 1, 1<<30)
	if err != nil {
		return err
	}
	size, err := intQuery(c, "page_size", 20, 1, 100)
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
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := h.svc.AddHistory(c.UserContext(), p, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

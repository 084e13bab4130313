package buckets

import (
	"encoding/json"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/platform/apperr"
)

// MaxLimit bounds a page.
const MaxLimit = 1000

// Handler turns HTTP requests into service calls.
type Handler struct {
	svc *Service
	id  *auth.Identity
}

// NewHandler builds the handler.
func NewHandler(svc *Service, id *auth.Identity) *Handler { return &Handler{svc: svc, id: id} }

// Page parses skip (or its alias offset) and limit; bad values are 422s.
func Page(c *fiber.Ctx) (skip, limit int, err error) {
	skip, limit = 0, 100
	var fields []apperr.FieldError
	parse := func(name string, dst *int, max int) {
		v := c.Query(name)
		if v == "" {
			return
		}
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 0 || (max > 0 && n > max) {
			msg := "Input should be a valid non-negative integer"
			if max > 0 {
				msg = "Input should be an integer between 0 and " + strconv.Itoa(max)
			}
			fields = append(fields, apperr.Field("query", name, msg, "int_parsing"))
			return
		}
		*dst = n
	}
	parse("offset", &skip, 0)
	parse("skip", &skip, 0)
	parse("limit", &limit, MaxLimit)
	if len(fields) > 0 {
		return 0, 0, apperr.Validation(fields...)
	}
	return skip, limit, nil
}

// PathID parses a UUID path parameter; a malformed one is a 422.
func PathID(c *fiber.Ctx, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params(name))
	if err != nil {
		return uuid.Nil, apperr.Validation(apperr.Field("path", name, "Input should be a valid UUID", "uuid_parsing"))
	}
	return id, nil
}

func decode(c *fiber.Ctx, dst any) error {
	if err := json.Unmarshal(c.Body(), dst); err != nil {
		return apperr.Validation(apperr.Field("body", "", "Input should be a valid JSON object", "json_invalid"))
	}
	return nil
}

func listOut(rows []WithStats) []OutWithStats {
	out := make([]OutWithStats, len(rows))
	for i := range rows {
		out[i] = toOutWithStats(&rows[i])
	}
	return out
}

func (h *Handler) list(c *fiber.Ctx) error {
	skip, limit, err := Page(c)
	if err != nil {
		return err
	}
	p, err := h.id.Caller(c)
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
	skip, limit, err := Page(c)
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
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return apperr.Validation(apperr.Field("body", "name", "Field required", "missing"))
	}
	p, err := h.id.Caller(c)
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
	id, err := PathID(c, "bucket_id")
	if err != nil {
		return err
	}
	p, err := h.id.Caller(c)
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
	id, err := PathID(c, "bucket_id")
	if err != nil {
		return err
	}
	var req UpdateRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := h.id.Caller(c)
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
	id, err := PathID(c, "bucket_id")
	if err != nil {
		return err
	}
	p, err := h.id.Caller(c)
	if err != nil {
		return err
	}
	if err := h.svc.Delete(c.UserContext(), p, id); err != nil {
		return err
	}
	return c.JSON(true)
}

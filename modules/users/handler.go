package users

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/config"
)

// Paging limits of the list routes.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// Handler parses users requests and calls the Service.
type Handler struct {
	svc     *Service
	id      *auth.Identity
	anonKey string
}

// NewHandler builds the handler.
func NewHandler(svc *Service, id *auth.Identity, cfg *config.Config) *Handler {
	return &Handler{svc: svc, id: id, anonKey: cfg.AnonKey}
}

// caller is the principal the route guard let through.
func (h *Handler) caller(c *fiber.Ctx) (*auth.Principal, error) {
	p, err := h.id.Caller(c)
	if err == nil && p == nil {
		err = auth.ErrNotAuthenticated
	}
	return p, err
}

func (h *Handler) me(c *fiber.Ctx) error {
	// The cached record Identity already loaded: no Postgres on this path.
	u, err := h.id.CurrentUser(c)
	if err != nil {
		return err
	}
	if u == nil {
		return auth.ErrNotAuthenticated
	}
	return c.JSON(u)
}

func (h *Handler) updateMe(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	var in updateMe
	if err := auth.DecodeJSON(c, &in); err != nil {
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
	if err := auth.DecodeJSON(c, &in); err != nil {
		return err
	}
	if err := h.svc.ChangePassword(c.UserContext(), p, in); err != nil {
		return err
	}
	return c.JSON(true)
}

func (h *Handler) list(c *fiber.Ctx) error {
	pg, err := page(c)
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
	pg, err := page(c)
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
	id, err := userID(c)
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
	if err := auth.DecodeJSON(c, &in); err != nil {
		return err
	}
	u, err := h.svc.Create(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (h *Handler) update(c *fiber.Ctx) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	var in updateUser
	if err := auth.DecodeJSON(c, &in); err != nil {
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
	id, err := userID(c)
	if err != nil {
		return err
	}
	if err := h.svc.Delete(c.UserContext(), p, id); err != nil {
		return err
	}
	return c.JSON(true)
}

// userID parses the {user_id} path segment; malformed → 422.
func userID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("user_id"))
	if err != nil {
		return uuid.Nil, apperr.Validation(apperr.Field("path", "user_id",
			"Input should be a valid UUID", "uuid_parsing"))
	}
	return id, nil
}

// page parses skip (≥ 0, default 0) and limit (1–1000, default 100).
func page(c *fiber.Ctx) (Page, error) {
	var errs []apperr.FieldError
	num := func(name string, def, lo, hi int) int {
		raw := c.Query(name)
		if raw == "" {
			return def
		}
		n, err := strconv.Atoi(raw)
		switch {
		case err != nil:
			errs = append(errs, apperr.Field("query", name, "Input should be a valid integer, unable to parse string as an integer", "int_parsing"))
		case n < lo:
			errs = append(errs, apperr.Field("query", name, "Input should be greater than or equal to "+strconv.Itoa(lo), "greater_than_equal"))
		case n > hi:
			errs = append(errs, apperr.Field("query", name, "Input should be less than or equal to "+strconv.Itoa(hi), "less_than_equal"))
		}
		return n
	}
	p := Page{Skip: num("skip", 0, 0, int(^uint32(0)>>1)), Limit: num("limit", defaultLimit, 1, maxLimit)}
	if len(errs) > 0 {
		return Page{}, apperr.Validation(errs...)
	}
	return p, nil
}

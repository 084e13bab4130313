package functions

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// MaxLimit bounds a page of functions.
const MaxLimit = 1000

// Handler turns HTTP requests into service calls.
type Handler struct {
	svc *Service
}

// NewHandler builds the handler.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc} }

func missing(field string) error {
	return apperr.Validation(apperr.Field("body", field, "Field required", "missing"))
}

func functionID(c *fiber.Ctx) (uuid.UUID, error) { return httpserver.PathUUID(c, "function_id") }

func (h *Handler) list(c *fiber.Ctx) error {
	skip, limit, err := httpserver.Page(c, MaxLimit)
	if err != nil {
		return err
	}
	rows, err := h.svc.List(c.UserContext(), skip, limit)
	if err != nil {
		return err
	}
	out := make([]Out, len(rows))
	for i := range rows {
		out[i] = ToOut(&rows[i])
	}
	return c.JSON(out)
}

func (h *Handler) create(c *fiber.Ctx) error {
	var req CreateRequest
	if err := httpserver.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return missing("name")
	}
	if req.Code == nil {
		return missing("code")
	}
	p, err := identity.From(c)
	if err != nil {
		return err
	}
	f, err := h.svc.Create(c.UserContext(), p, req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(ToOut(f))
}

func (h *Handler) get(c *fiber.Ctx) error {
	id, err := functionID(c)
	if err != nil {
		return err
	}
	f, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(ToOut(f))
}

func (h *Handler) update(c *fiber.Ctx) error {
	id, err := functionID(c)
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
	f, err := h.svc.Update(c.UserContext(), p, id, req)
	if err != nil {
		return err
	}
	return c.JSON(ToOut(f))
}

func (h *Handler) delete(c *fiber.Ctx) error {
	id, err := functionID(c)
	if err != nil {
		return err
	}
	if err := h.svc.Delete(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *Handler) versions(c *fiber.Ctx) error {
	id, err := functionID(c)
	if err != nil {
		return err
	}
	vs, err := h.svc.Versions(c.UserContext(), id)
	if err != nil {
		return err
	}
	out := make([]VersionOut, len(vs))
	for i := range vs {
		out[i] = toVersionOut(&vs[i])
	}
	return c.JSON(out)
}

func (h *Handler) restore(c *fiber.Ctx) error {
	id, err := functionID(c)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Params("n"))
	if err != nil || n < 1 {
		return apperr.Validation(apperr.Field("path", "n", "Input should be a positive integer", "int_parsing"))
	}
	p, err := identity.From(c)
	if err != nil {
		return err
	}
	f, err := h.svc.Restore(c.UserContext(), p, id, n)
	if err != nil {
		return err
	}
	return c.JSON(ToOut(f))
}

func (h *Handler) env(c *fiber.Ctx) error {
	id, err := functionID(c)
	if err != nil {
		return err
	}
	vars, err := h.svc.Env(c.UserContext(), id)
	if err != nil {
		return err
	}
	out := make([]EnvOut, len(vars))
	for i := range vars {
		out[i] = toEnvOut(&vars[i])
	}
	return c.JSON(out)
}

func (h *Handler) createEnv(c *fiber.Ctx) error {
	id, err := functionID(c)
	if err != nil {
		return err
	}
	var req EnvRequest
	if err := httpserver.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.Key == nil {
		return missing("key")
	}
	if req.Value == nil {
		return missing("value")
	}
	secret := req.IsSecret == nil || *req.IsSecret
	e, err := h.svc.CreateEnv(c.UserContext(), id, *req.Key, *req.Value, secret)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toEnvOut(e))
}

func (h *Handler) updateEnv(c *fiber.Ctx) error {
	id, err := functionID(c)
	if err != nil {
		return err
	}
	envID, err := httpserver.PathUUID(c, "env_id")
	if err != nil {
		return err
	}
	var req EnvRequest
	if err := httpserver.DecodeJSON(c, &req); err != nil {
		return err
	}
	e, err := h.svc.UpdateEnv(c.UserContext(), id, envID, req)
	if err != nil {
		return err
	}
	return c.JSON(toEnvOut(e))
}

func (h *Handler) deleteEnv(c *fiber.Ctx) error {
	id, err := functionID(c)
	if err != nil {
		return err
	}
	envID, err := httpserver.PathUUID(c, "env_id")
	if err != nil {
		return err
	}
	if err := h.svc.DeleteEnv(c.UserContext(), id, envID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *Handler) logs(c *fiber.Ctx) error {
	id, err := functionID(c)
	if err != nil {
		return err
	}
	limit, err := httpserver.QueryInt(c, "limit", 50, 1, 500)
	if err != nil {
		return err
	}
	runs, err := h.svc.Runs(c.UserContext(), id, limit)
	if err != nil {
		return err
	}
	out := make([]RunOut, len(runs))
	for i := range runs {
		out[i] = toRunOut(&runs[i])
	}
	return c.JSON(out)
}

func (h *Handler) template(c *fiber.Ctx) error {
	t, err := Template(c.Params("type"))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (h *Handler) emit(c *fiber.Ctx) error {
	body := bytes.TrimSpace(c.Body())
	if len(body) > 0 && !json.Valid(body) {
		return apperr.Validation(apperr.Field("body", "", "JSON decode error", "json_invalid"))
	}
	// Params alias Fiber's buffers, which the next request reuses; the
	// event outlives this one.
	out, err := h.svc.Emit(c.UserContext(), strings.Clone(c.Params("event")), bytes.Clone(body))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(out)
}

func (h *Handler) invoke(c *fiber.Ctx) error { return h.svc.Invoke(c, strings.Clone(c.Params("name"))) }

// invokeByName is the Python SDK's POST /functions/{name}; a UUID there
// names no function. The segment is function_id, as for the routes of the
// same shape (one path in the OpenAPI document); here it holds a name.
func (h *Handler) invokeByName(c *fiber.Ctx) error {
	name := c.Params("function_id")
	if _, err := uuid.Parse(name); err == nil {
		return httpserver.ErrMethodNotAllowed
	}
	return h.svc.Invoke(c, strings.Clone(name))
}

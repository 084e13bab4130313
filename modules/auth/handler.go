package auth

import (
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// Handler parses auth requests and calls the Service.
type Handler struct {
	svc *Service
}

// NewHandler builds the handler.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc} }

// login accepts the OAuth2 password form (urlencoded or multipart) and JSON.
func (h *Handler) login(c *fiber.Ctx) error {
	var email, password, grant *string
	mt, _, _ := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	switch mt {
	case fiber.MIMEApplicationForm, fiber.MIMEMultipartForm:
		email, password, grant = formValue(c, "username"), formValue(c, "password"), formValue(c, "grant_type")
	default:
		var in loginJSON
		if err := httpserver.DecodeJSON(c, &in); err != nil {
			return err
		}
		email, password, grant = in.Email, in.Password, in.GrantType
		if email == nil || *email == "" {
			email = in.Username
		}
	}
	var errs []*apperr.FieldError
	if email == nil || *email == "" {
		errs = append(errs, Missing("username"))
	}
	if password == nil || *password == "" {
		errs = append(errs, Missing("password"))
	}
	if grant != nil && *grant != "" && *grant != "password" {
		errs = append(errs, fieldErr("grant_type", "String should match pattern '^password$'", "string_pattern_mismatch"))
	}
	if err := Fields(errs...); err != nil {
		return err
	}
	out, err := h.svc.Login(c.UserContext(), strings.TrimSpace(*email), *password, c.IP())
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// formValue returns a form field, nil when absent or empty (FastAPI treats
// an empty form field as missing).
func formValue(c *fiber.Ctx, name string) *string {
	v := c.FormValue(name)
	if v == "" {
		return nil
	}
	return &v
}

func (h *Handler) register(c *fiber.Ctx) error {
	// Closed registration says so whatever the body.
	if err := h.svc.SignupOpen(); err != nil {
		return err
	}
	var in RegisterRequest
	if err := httpserver.DecodeJSON(c, &in); err != nil {
		return err
	}
	u, err := h.svc.Register(c.UserContext(), in, c.IP())
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func bodyRefreshToken(c *fiber.Ctx) (string, error) {
	var in refreshRequest
	if err := httpserver.DecodeJSON(c, &in); err != nil {
		return "", err
	}
	if in.RefreshToken == nil {
		return "", Fields(Missing("refresh_token"))
	}
	return *in.RefreshToken, nil
}

func (h *Handler) refresh(c *fiber.Ctx) error {
	tok, err := bodyRefreshToken(c)
	if err != nil {
		return err
	}
	out, err := h.svc.Refresh(c.UserContext(), tok, c.IP())
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (h *Handler) logout(c *fiber.Ctx) error {
	tok, err := bodyRefreshToken(c)
	if err != nil {
		return err
	}
	if err := h.svc.Logout(c.UserContext(), tok); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *Handler) logoutAll(c *fiber.Ctx) error {
	p, err := identity.UserFrom(c)
	if err != nil {
		return err
	}
	if err := h.svc.LogoutAll(c.UserContext(), p.ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

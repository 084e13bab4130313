package auth

import (
	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/httpserver"
)

// Routes mounts /api/v1/auth.
type Routes struct {
	h *Handler
}

var (
	_ httpserver.Routes     = (*Routes)(nil)
	_ httpserver.Public     = (*Routes)(nil)
	_ httpserver.Documented = (*Routes)(nil)
)

// RefreshPath is the token refresh, the one auth route that needs no anon key.
const RefreshPath = "/api/v1/auth/refresh"

// PublicPrefixes: the refresh token is the credential of /refresh (api.md
// §0.2, §2); the original admin UI refreshes without the anon key. Only
// that exact path: every other auth route still needs the key.
func (r *Routes) PublicPrefixes() []string { return []string{RefreshPath} }

// NewRoutes builds the auth routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// Register adds the routes of api.md §2.
func (r *Routes) Register(router fiber.Router) { httpserver.Mount(router, r.API()) }

// API describes the routes of api.md §2.
func (r *Routes) API() httpserver.API {
	const base = "/api/v1/auth"
	post := fiber.MethodPost
	refreshBody := httpserver.JSON(refreshRequest{}, "refresh_token")
	return httpserver.API{Tag: "auth", Description: "Sign-in: login, registration, token refresh and logout (api.md §2).", Operations: []httpserver.Operation{
		{Method: post, Path: base + "/login", Summary: "Log in",
			Description: "The OAuth2 password form (username is the email), or JSON with email (or username) and password. " +
				"The access token goes in Authorization: Bearer; the refresh token gets new access tokens from /auth/refresh.",
			Body: &httpserver.Body{Content: []httpserver.Media{
				{Type: fiber.MIMEApplicationForm, Schema: LoginForm{}, Required: []string{"username", "password"}},
				{Type: fiber.MIMEMultipartForm, Schema: LoginForm{}, Required: []string{"username", "password"}},
				{Type: fiber.MIMEApplicationJSON, Schema: loginJSON{}, Required: []string{"password"}},
			}},
			Responses: []httpserver.Response{httpserver.OK(LoginResponse{})},
			Errors:    []*apperr.Error{ErrInvalidCredentials, ErrInactiveUser, ErrRateLimited},
			Handlers:  httpserver.H(r.h.login)},
		{Method: post, Path: base + "/register", Summary: "Register an account",
			Description: "Creates an active, non-superuser account (is_superuser and is_active are ignored). " +
				"The password needs at least 8 characters. Closed (403) when AUTH_ALLOW_SIGNUP is false.",
			Body:      httpserver.JSON(RegisterRequest{}, "email", "password"),
			Responses: []httpserver.Response{httpserver.OK(User{})},
			Errors:    []*apperr.Error{ErrEmailTaken, ErrSignupDisabled, ErrRateLimited},
			Handlers:  httpserver.H(r.h.register)},
		{Method: post, Path: RefreshPath, Summary: "Get a new access token",
			Description: "Needs no anon key: the refresh token is the credential. With AUTH_REFRESH_ROTATION the answer carries a new refresh token and the old one is retired.",
			Body:        refreshBody,
			Responses:   []httpserver.Response{httpserver.OK(RefreshResponse{})},
			Errors:      []*apperr.Error{ErrInvalidRefreshToken, ErrUserGone, ErrRateLimited},
			Handlers:    httpserver.H(r.h.refresh)},
		{Method: post, Path: base + "/logout", Summary: "Log out (revoke a refresh token)",
			Description: "Revokes the refresh token's session. Idempotent.",
			Body:        refreshBody, Responses: []httpserver.Response{httpserver.NoContent()},
			Handlers: httpserver.H(r.h.logout)},
		{Method: post, Path: base + "/logout-all", Summary: "Log out everywhere", Access: httpserver.User,
			Description: "Revokes every refresh token of the caller.",
			Responses:   []httpserver.Response{httpserver.NoContent()},
			Handlers:    httpserver.H(r.h.logoutAll)},
	}}
}

package users

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// Routes mounts /api/v1/users.
type Routes struct {
	h *Handler
}

var (
	_ httpserver.Routes     = (*Routes)(nil)
	_ httpserver.Documented = (*Routes)(nil)
)

// NewRoutes builds the users routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// Register adds the routes of api.md §3.
func (r *Routes) Register(router fiber.Router) { httpserver.Mount(router, r.API()) }

// API describes the routes of api.md §3; the fixed paths come before /{user_id}.
func (r *Routes) API() httpserver.API {
	const base = "/api/v1/users"
	get, put, post, del := fiber.MethodGet, fiber.MethodPut, fiber.MethodPost, fiber.MethodDelete
	user, super := httpserver.User, httpserver.Superuser
	userID := []httpserver.Param{httpserver.InPath("user_id", uuid.UUID{}, "The user's id.")}
	users := []httpserver.Response{httpserver.OK([]auth.User{})}
	one := []httpserver.Response{httpserver.OK(auth.User{})}
	return httpserver.API{Tag: "users", Description: "Accounts: the caller's own, the directory, and superuser administration (api.md §3).", Operations: []httpserver.Operation{
		{Method: get, Path: base + "/me", Summary: "The caller's account", Access: user, Responses: one, Handlers: httpserver.H(r.h.me)},
		{Method: put, Path: base + "/me", Summary: "Update the caller's account", Access: user,
			Description: "is_superuser and is_active are ignored. A password change revokes the caller's refresh tokens.",
			Body:        httpserver.JSON(updateMe{}), Responses: one, Errors: []*apperr.Error{ErrEmailExists},
			Handlers: httpserver.H(r.h.updateMe)},
		{Method: put, Path: base + "/me/password", Summary: "Change the caller's password", Access: user,
			Description: "Revokes the caller's refresh tokens. Answers true.",
			Body:        httpserver.JSON(updatePassword{}, "current_password", "new_password"),
			Responses:   []httpserver.Response{httpserver.OK(true)}, Errors: []*apperr.Error{ErrIncorrectPassword},
			Handlers: httpserver.H(r.h.changePassword)},
		{Method: get, Path: base + "/me/anon-key", Summary: "The project's anon key", Access: user,
			Responses: []httpserver.Response{httpserver.OK(anonKey{})}, Handlers: httpserver.H(r.h.anonKeyOf)},
		{Method: get, Path: base + "/list", Summary: "List non-superusers", Access: user,
			Params: httpserver.PageParams(maxLimit), Responses: users, Handlers: httpserver.H(r.h.listNonSuperusers)},
		{Method: get, Path: base + "/count", Summary: "Count non-superusers", Access: user,
			Responses: []httpserver.Response{httpserver.OK(0)}, Handlers: httpserver.H(r.h.count)},
		{Method: get, Path: base, Summary: "List users", Access: super, Description: "Ordered by created_at, id.",
			Params: httpserver.PageParams(maxLimit), Responses: users, Handlers: httpserver.H(r.h.list)},
		{Method: post, Path: base, Summary: "Create a user", Access: super,
			Body:      httpserver.JSON(createUser{}, "email", "password"),
			Responses: one, Errors: []*apperr.Error{ErrEmailExists}, Handlers: httpserver.H(r.h.create)},
		{Method: get, Path: base + "/:user_id", Summary: "Read a user", Access: user,
			Description: "The caller's own record, or any as a superuser.",
			Params:      userID, Responses: one, Errors: []*apperr.Error{identity.ErrNotEnoughPrivileges, ErrUserNotFound},
			Handlers: httpserver.H(r.h.get)},
		{Method: put, Path: base + "/:user_id", Summary: "Update a user", Access: super,
			Description: "A password change or a deactivation revokes the user's refresh tokens.",
			Params:      userID, Body: httpserver.JSON(updateUser{}), Responses: one,
			Errors: []*apperr.Error{ErrUserNotFound, ErrEmailExists}, Handlers: httpserver.H(r.h.update)},
		{Method: del, Path: base + "/:user_id", Summary: "Delete a user and their data",
			Description: "Deletes the user's buckets, files (bytes included), functions, snippets and history with the account. Answers true.",
			Access:      super, Params: userID, Responses: []httpserver.Response{httpserver.OK(true)},
			Errors: []*apperr.Error{ErrUserNotFound, ErrCannotDeleteSelf, auth.ErrUserHasData}, Handlers: httpserver.H(r.h.delete)},
	}}
}

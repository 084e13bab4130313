package buckets

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// Routes mounts /api/v1/buckets. GET /api/v1/buckets/{id}/files is served
// by modules/files.
type Routes struct {
	h *Handler
}

var (
	_ httpserver.Routes     = (*Routes)(nil)
	_ httpserver.Documented = (*Routes)(nil)
)

// NewRoutes builds the routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// Register adds the routes of api.md §4.
func (r *Routes) Register(app fiber.Router) { httpserver.Mount(app, r.API()) }

// API describes the routes of api.md §4.
func (r *Routes) API() httpserver.API {
	const base = "/api/v1/buckets"
	bucketID := []httpserver.Param{httpserver.InPath("bucket_id", uuid.UUID{}, "The bucket's id.")}
	withStats := []httpserver.Response{httpserver.OK([]OutWithStats{})}
	return httpserver.API{Tag: "buckets", Description: "Storage buckets (api.md §4). Files are under the files tag.", Operations: []httpserver.Operation{
		{Method: fiber.MethodGet, Path: base, Summary: "List buckets", Access: httpserver.Anyone,
			Description: "Anon sees public buckets, a user their own and public ones, a superuser all.",
			Params:      httpserver.PageParams(MaxLimit), Responses: withStats, Handlers: httpserver.H(r.h.list)},
		{Method: fiber.MethodGet, Path: base + "/public", Summary: "List public buckets", Access: httpserver.NoAuth,
			Params: httpserver.PageParams(MaxLimit), Responses: withStats, Handlers: httpserver.H(r.h.listPublic)},
		{Method: fiber.MethodPost, Path: base, Summary: "Create a bucket", Access: httpserver.User,
			Description: "Name: 3–63 characters of lowercase letters, digits, '-' and '.', starting and ending with a letter or digit.",
			Body:        httpserver.JSON(CreateRequest{}, "name"),
			Responses:   []httpserver.Response{httpserver.Created(Out{})},
			Errors:      []*apperr.Error{ErrInvalidName, ErrExists}, Handlers: httpserver.H(r.h.create)},
		{Method: fiber.MethodGet, Path: base + "/:bucket_id", Summary: "Read a bucket", Access: httpserver.Anyone,
			Description: "Anon: public buckets only. A user: own and public ones; a superuser: all.",
			Params:      bucketID, Responses: []httpserver.Response{httpserver.OK(OutWithStats{})},
			Errors: []*apperr.Error{ErrNotFound, ErrNotPublic, ErrForbidden}, Handlers: httpserver.H(r.h.get)},
		{Method: fiber.MethodPut, Path: base + "/:bucket_id", Summary: "Update a bucket", Access: httpserver.User,
			Description: "The owner or a superuser. Renames and visibility changes apply to storage at once.",
			Params:      bucketID, Body: httpserver.JSON(UpdateRequest{}), Responses: []httpserver.Response{httpserver.OK(Out{})},
			Errors: []*apperr.Error{ErrNotFound, identity.ErrNotOwner, ErrInvalidName, ErrExists}, Handlers: httpserver.H(r.h.update)},
		{Method: fiber.MethodDelete, Path: base + "/:bucket_id", Summary: "Delete a bucket and its files", Access: httpserver.User,
			Description: "The owner or a superuser. The bucket's files (rows and bytes) go with it. Answers true.",
			Params:      bucketID, Responses: []httpserver.Response{httpserver.OK(true)},
			Errors: []*apperr.Error{ErrNotFound, identity.ErrNotOwner}, Handlers: httpserver.H(r.h.delete)},
	}}
}

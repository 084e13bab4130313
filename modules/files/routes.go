package files

import (
	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// UploadPrefix is where uploads stream; the platform body limit skips it.
const UploadPrefix = "/files/upload-direct/"

// Routes mounts /api/v1/files, /api/v1/buckets/{id}/files and the byte
// routes under /files/.
type Routes struct {
	h *Handler
}

var (
	_ httpserver.Routes   = (*Routes)(nil)
	_ httpserver.Streamer = (*Routes)(nil)
	_ httpserver.Public   = (*Routes)(nil)
)

// NewRoutes builds the routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// StreamPrefixes exempts uploads from the buffered body limit.
func (r *Routes) StreamPrefixes() []string { return []string{UploadPrefix} }

// PublicPrefixes: the byte routes need no anon key; they have their own
// authorization (signatures, public buckets, Bearer tokens; api.md §5.3).
func (r *Routes) PublicPrefixes() []string { return []string{"/files/"} }

// Register adds the routes of api.md §5.
func (r *Routes) Register(app fiber.Router) {
	g := app.Group("/api/v1/files")
	g.Get("", identity.RequireUser, r.h.list)
	g.Post("/initiate-upload", identity.RequireUser, r.h.initiate)
	g.Get("/public/:file_id/download-info", r.h.info(false, true))
	g.Get("/public/:file_id/view-info", r.h.info(true, true))
	g.Get("/:file_id/download-info", r.h.info(false, false))
	g.Get("/:file_id/view-info", r.h.info(true, false))
	g.Delete("/:file_id", identity.RequireUser, r.h.delete)
	app.Get("/api/v1/buckets/:bucket_id/files", r.h.bucketFiles)

	// Fiber's Get also answers HEAD.
	app.Put(UploadPrefix+":bucket/:object/:token", r.h.upload)
	app.Put(UploadPrefix+":bucket/:object", r.h.upload)
	app.Put(UploadPrefix+"*", invalidPath)
	app.Get("/files/download/:bucket/:object", r.h.serve(false))
	app.Get("/files/download/*", invalidPath)
	app.Get("/files/view/:bucket/:object", r.h.serve(true))
	app.Get("/files/view/*", invalidPath)
	app.Get("/files/list/:bucket", r.h.listBytes)
}

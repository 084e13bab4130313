package files

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/modules/buckets"
	"github.com/selfdb/selfdb/platform/apperr"
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
	_ httpserver.Routes     = (*Routes)(nil)
	_ httpserver.Streamer   = (*Routes)(nil)
	_ httpserver.Public     = (*Routes)(nil)
	_ httpserver.Documented = (*Routes)(nil)
)

// NewRoutes builds the routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// StreamPrefixes exempts uploads from the buffered body limit.
func (r *Routes) StreamPrefixes() []string { return []string{UploadPrefix} }

// PublicPrefixes: the byte routes need no anon key; they have their own
// authorization (signatures, public buckets, Bearer tokens; api.md §5.3).
func (r *Routes) PublicPrefixes() []string { return []string{"/files/"} }

// Register adds the routes of api.md §5.
func (r *Routes) Register(app fiber.Router) { httpserver.Mount(app, r.API()) }

// API describes the routes of api.md §5: metadata under /api/v1/files and
// the byte routes under /files/ (no anon key; their own authorization).
// Fiber's Get also answers HEAD, which the byte routes serve.
func (r *Routes) API() httpserver.API {
	const base = "/api/v1/files"
	get, put := fiber.MethodGet, fiber.MethodPut
	fileID := []httpserver.Param{httpserver.InPath("file_id", uuid.UUID{}, "The file's id.")}
	signed := []httpserver.Param{
		httpserver.InQuery(QueryExpires, httpserver.Schema{Type: "integer", Format: "int64"}, "Signature expiry (Unix seconds), from a signed URL."),
		httpserver.InQuery(QuerySignature, httpserver.Schema{Type: "string"}, "The signature, from a signed URL."),
	}
	byteParams := append([]httpserver.Param{
		httpserver.InPath("bucket", "", "The bucket's name (or, with a file id as object, its id)."),
		httpserver.InPath("object", "", "The object name (or the file's id)."),
		{Name: "Range", In: "header", Schema: httpserver.Schema{Type: "string"}, Description: "bytes=start-end"},
		{Name: "If-None-Match", In: "header", Schema: httpserver.Schema{Type: "string"}, Description: "An ETag (the SHA-256) the client holds."},
	}, signed...)
	bytesOut := []httpserver.Response{
		{Status: fiber.StatusOK, Description: "The bytes, with Content-Disposition, ETag, Last-Modified and Accept-Ranges.",
			Content: []httpserver.Media{{Type: fiber.MIMEOctetStream, Schema: httpserver.Binary}}},
		{Status: fiber.StatusPartialContent, Description: "The requested range (Content-Range).",
			Content: []httpserver.Media{{Type: fiber.MIMEOctetStream, Schema: httpserver.Binary}}},
		{Status: fiber.StatusNotModified, Description: "If-None-Match matched."},
	}
	bytesErrs := []*apperr.Error{ErrInvalidName, buckets.ErrNotFound, ErrFileNotFound, ErrBadSignature, ErrAccessDenied, ErrRangeNotSatisfiable}
	uploadBody := &httpserver.Body{Description: "The raw bytes, or multipart/form-data with the file in the field file.", Content: []httpserver.Media{
		{Type: fiber.MIMEOctetStream, Schema: httpserver.Binary},
		{Type: fiber.MIMEMultipartForm, Schema: httpserver.Schema{Type: "object", Required: []string{"file"},
			Properties: map[string]*httpserver.Schema{"file": &httpserver.Binary}}},
	}}
	uploadErrs := []*apperr.Error{ErrInvalidName, ErrBadSignature, ErrFileNotFound, ErrAlreadyUploaded, ErrSizeMismatch,
		ErrNoFilePart, ErrIncompleteUpload, ErrTooLarge, ErrInsufficientSpace, ErrStorageUnavailable}
	malformed := func(method, path string) httpserver.Operation {
		return httpserver.Operation{Method: method, Path: path, Summary: "Malformed byte path",
			Description: "A path under a byte route without exactly a bucket and an object segment.",
			Params:      []httpserver.Param{httpserver.InPath("path", "", "The rest of the path.")},
			Errors:      []*apperr.Error{ErrInvalidName}, Handlers: httpserver.H(invalidPath)}
	}
	info := func(view, public bool) httpserver.Operation {
		op := httpserver.Operation{Method: get, Params: fileID, Access: httpserver.Anyone,
			Errors: []*apperr.Error{ErrFileNotFound, ErrAuthRequired, ErrAccessDenied}, Handlers: httpserver.H(r.h.info(view, public))}
		kind, out := "download", any(DownloadInfo{})
		if view {
			kind, out = "view", ViewInfo{}
		}
		op.Path, op.Summary = base+"/:file_id/"+kind+"-info", "A file's "+kind+" URL"
		op.Description = "Anon: files in public buckets. A user: own files, public buckets; a superuser: all. " +
			"Private files' URLs carry a short-lived signature, so that <img src> and plain downloads work without headers."
		if public {
			op.Path, op.Summary, op.Access = base+"/public/:file_id/"+kind+"-info", "A public file's "+kind+" URL", httpserver.NoAuth
			op.Description = "Files in public buckets only."
			op.Errors = []*apperr.Error{ErrFileNotFound, ErrNotPublicFile}
		}
		op.Responses = []httpserver.Response{httpserver.OK(out)}
		return op
	}
	return httpserver.API{Tag: "files", Description: "File metadata, the upload flow and the byte routes (api.md §5).", Operations: []httpserver.Operation{
		{Method: get, Path: base, Summary: "List files", Access: httpserver.User,
			Description: "With bucket_id, that bucket's files (own, public or any as a superuser); without, the caller's own files.",
			Params: append(httpserver.PageParams(buckets.MaxLimit),
				httpserver.InQuery("bucket_id", uuid.UUID{}, "Only this bucket's files.")),
			Responses: []httpserver.Response{httpserver.OK([]Out{})}, Errors: []*apperr.Error{buckets.ErrNotFound},
			Handlers: httpserver.H(r.h.list)},
		{Method: fiber.MethodPost, Path: base + "/initiate-upload", Summary: "Start an upload (step 1 of 2)", Access: httpserver.User,
			Description: "Creates a pending file and answers a signed upload_url: PUT the bytes there with no auth headers (step 2). " +
				"A declared size must match the bytes sent. Into own or public buckets, or any as a superuser.",
			Body:      httpserver.JSON(InitiateRequest{}, "filename", "bucket_id"),
			Responses: []httpserver.Response{httpserver.Created(InitiateResponse{})},
			Errors:    []*apperr.Error{ErrInvalidFilename, buckets.ErrNotFound, ErrBucketDenied, ErrTooLarge},
			Handlers:  httpserver.H(r.h.initiate)},
		info(false, true), info(true, true), info(false, false), info(true, false),
		{Method: fiber.MethodDelete, Path: base + "/:file_id", Summary: "Delete a file", Access: httpserver.User,
			Description: "The owner or a superuser; removes the row and the bytes.",
			Params:      fileID, Responses: []httpserver.Response{httpserver.NoContent()},
			Errors: []*apperr.Error{ErrFileNotFound, identity.ErrNotOwner}, Handlers: httpserver.H(r.h.delete)},
		{Method: get, Path: "/api/v1/buckets/:bucket_id/files", Summary: "List a bucket's files", Access: httpserver.Anyone,
			Description: "Anon: public buckets. A user: own and public buckets; a superuser: all.",
			Params: append(httpserver.PageParams(buckets.MaxLimit),
				httpserver.InPath("bucket_id", uuid.UUID{}, "The bucket's id.")),
			Responses: []httpserver.Response{httpserver.OK([]Out{})},
			Errors:    []*apperr.Error{buckets.ErrNotFound, buckets.ErrNotPublic, buckets.ErrForbidden},
			Handlers:  httpserver.H(r.h.bucketFiles)},
		{Method: put, Path: UploadPrefix + ":bucket/:object/:token", Summary: "Upload the bytes (step 2 of 2)",
			Description: "The upload_url of initiate-upload, as it is: its last segment is the signature. No anon key, no Authorization. Works once; the file becomes ready.",
			Params: []httpserver.Param{
				httpserver.InPath("bucket", "", "The bucket's name."), httpserver.InPath("object", "", "The object name."),
				httpserver.InPath("token", "", "The signature (<expires>.<mac>)."),
			},
			Body: uploadBody, Responses: []httpserver.Response{httpserver.Created(UploadResponse{})},
			Errors: uploadErrs, Handlers: httpserver.H(r.h.upload)},
		{Method: put, Path: UploadPrefix + ":bucket/:object", Summary: "Upload the bytes (query-signed URL)",
			Description: "Upload URLs handed out before signatures moved into the path; valid until they expire.",
			Params: append([]httpserver.Param{
				httpserver.InPath("bucket", "", "The bucket's name."), httpserver.InPath("object", "", "The object name."),
			}, signed...),
			Body: uploadBody, Responses: []httpserver.Response{httpserver.Created(UploadResponse{})},
			Errors: uploadErrs, Handlers: httpserver.H(r.h.upload)},
		malformed(put, UploadPrefix+"*"),
		{Method: get, Path: "/files/download/:bucket/:object", Summary: "Download a file's bytes", Access: httpserver.Anyone,
			Description: "Public buckets need nothing; private ones a signature (download_url carries one) or the Bearer token of the owner or a superuser. " +
				"Content-Disposition: attachment with the original name. HEAD answers the headers.",
			Params: byteParams, Responses: bytesOut, Errors: bytesErrs, Handlers: httpserver.H(r.h.serve(false))},
		malformed(get, "/files/download/*"),
		{Method: get, Path: "/files/view/:bucket/:object", Summary: "View a file's bytes inline", Access: httpserver.Anyone,
			Description: "As download, inline (active types such as HTML stay attachments unless FILES_PUBLIC_URL is a separate origin).",
			Params:      append(byteParams, httpserver.InQuery("content_type", "", "Ignored: the stored type is served.")),
			Responses:   bytesOut, Errors: bytesErrs, Handlers: httpserver.H(r.h.serve(true))},
		malformed(get, "/files/view/*"),
		{Method: get, Path: "/files/list/:bucket", Summary: "List a bucket's ready files with their URLs", Access: httpserver.Anyone,
			Params: append(httpserver.PageParams(buckets.MaxLimit),
				httpserver.InPath("bucket", "", "The bucket's name or id.")),
			Responses: []httpserver.Response{httpserver.OK([]ListEntry{})},
			Errors:    []*apperr.Error{ErrInvalidName, buckets.ErrNotFound, buckets.ErrNotPublic, buckets.ErrForbidden},
			Handlers:  httpserver.H(r.h.listBytes)},
	}}
}

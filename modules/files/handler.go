package files

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/modules/buckets"
	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// Handler turns HTTP requests into service calls.
type Handler struct {
	svc *Service
	cfg *config.Config
}

// NewHandler builds the handler.
func NewHandler(svc *Service, cfg *config.Config) *Handler {
	return &Handler{svc: svc, cfg: cfg}
}

// base is PUBLIC_URL, or the request's own scheme and host.
func (h *Handler) base(c *fiber.Ctx) string {
	if b := h.cfg.PublicBaseURL(); b != "" {
		return b
	}
	return c.BaseURL()
}

// filesBase is the base of download and view URLs: FILES_PUBLIC_URL (a
// separate origin for user content), else base.
func (h *Handler) filesBase(c *fiber.Ctx) string {
	if b := h.cfg.FilesBaseURL(); b != "" {
		return b
	}
	return h.base(c)
}

func (h *Handler) caller(c *fiber.Ctx) (*identity.Principal, error) { return identity.From(c) }

func (h *Handler) initiate(c *fiber.Ctx) error {
	var req InitiateRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return apperr.Validation(apperr.Field("body", "", "Input should be a valid JSON object", "json_invalid"))
	}
	var fields []apperr.FieldError
	if req.Filename == nil {
		fields = append(fields, apperr.Field("body", "filename", "Field required", "missing"))
	}
	var bucketID uuid.UUID
	if req.BucketID == nil {
		fields = append(fields, apperr.Field("body", "bucket_id", "Field required", "missing"))
	} else if id, err := uuid.Parse(*req.BucketID); err != nil {
		fields = append(fields, apperr.Field("body", "bucket_id", "Input should be a valid UUID", "uuid_parsing"))
	} else {
		bucketID = id
	}
	if req.Size != nil && *req.Size < 0 {
		fields = append(fields, apperr.Field("body", "size", "Input should be greater than or equal to 0", "greater_than_equal"))
	}
	if len(fields) > 0 {
		return apperr.Validation(fields...)
	}
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	f, b, path, err := h.svc.Initiate(c.UserContext(), p, bucketID, *req.Filename, req.ContentType, req.Size)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(InitiateResponse{
		FileMetadata:        toOut(f, b.Name),
		PresignedUploadInfo: UploadInfo{UploadURL: h.base(c) + path, UploadMethod: "PUT"},
	})
}

func (h *Handler) list(c *fiber.Ctx) error {
	skip, limit, err := httpserver.Page(c, buckets.MaxLimit)
	if err != nil {
		return err
	}
	var bucketID *uuid.UUID
	if v := c.Query("bucket_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			return apperr.Validation(apperr.Field("query", "bucket_id", "Input should be a valid UUID", "uuid_parsing"))
		}
		bucketID = &id
	}
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	rows, names, err := h.svc.List(c.UserContext(), p, bucketID, skip, limit)
	if err != nil {
		return err
	}
	out := make([]Out, len(rows))
	for i := range rows {
		out[i] = toOut(&rows[i], names[rows[i].BucketID])
	}
	return c.JSON(out)
}

func (h *Handler) bucketFiles(c *fiber.Ctx) error {
	id, err := httpserver.PathUUID(c, "bucket_id")
	if err != nil {
		return err
	}
	skip, limit, err := httpserver.Page(c, buckets.MaxLimit)
	if err != nil {
		return err
	}
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	b, err := h.svc.buckets.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	rows, err := h.svc.ListBucket(c.UserContext(), p, b, false, skip, limit)
	if err != nil {
		return err
	}
	out := make([]Out, len(rows))
	for i := range rows {
		out[i] = toOut(&rows[i], b.Name)
	}
	return c.JSON(out)
}

// info serves download-info and view-info (public: the /public/... variants).
func (h *Handler) info(view, public bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := httpserver.PathUUID(c, "file_id")
		if err != nil {
			return err
		}
		var p *identity.Principal
		if !public {
			if p, err = h.caller(c); err != nil {
				return err
			}
		}
		f, b, err := h.svc.Info(c.UserContext(), p, id, public)
		if err != nil {
			return err
		}
		if !view {
			return c.JSON(DownloadInfo{FileMetadata: toOut(f, b.Name), DownloadURL: h.filesBase(c) + h.svc.BytePath("download", b, f, nil)})
		}
		ct := contentTypeOf(f)
		return c.JSON(ViewInfo{FileMetadata: toOut(f, b.Name),
			ViewURL: h.filesBase(c) + h.svc.BytePath("view", b, f, url.Values{"content_type": {ct}})})
	}
}

func (h *Handler) delete(c *fiber.Ctx) error {
	id, err := httpserver.PathUUID(c, "file_id")
	if err != nil {
		return err
	}
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	if err := h.svc.Delete(c.UserContext(), p, id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *Handler) listBytes(c *fiber.Ctx) error {
	skip, limit, err := httpserver.Page(c, buckets.MaxLimit)
	if err != nil {
		return err
	}
	ref := c.Params("bucket")
	if !buckets.ValidName(ref) && uuid.Validate(ref) != nil {
		return ErrInvalidName
	}
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	b, err := h.svc.BucketByRef(c.UserContext(), ref)
	if err != nil {
		return err
	}
	rows, err := h.svc.ListBucket(c.UserContext(), p, b, true, skip, limit)
	if err != nil {
		return err
	}
	out := make([]ListEntry, len(rows))
	for i := range rows {
		f := &rows[i]
		out[i] = ListEntry{Filename: f.Filename, ContentType: f.ContentType, Size: f.Size, Bucket: b.Name,
			URL: h.filesBase(c) + h.svc.BytePath("download", b, f, nil), CreatedAt: f.CreatedAt.UTC()}
	}
	return c.JSON(out)
}

// invalidPath answers paths under a byte route that do not have exactly a
// bucket and an object segment (e.g. ".." resolved away, an encoded "/").
func invalidPath(c *fiber.Ctx) error {
	c.Response().SetConnectionClose()
	return ErrInvalidName
}

// exactReader turns a body that ends before its Content-Length into an error
// (fasthttp's stream reports a clean EOF when the client goes away).
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

// deadlineReader turns the server's read timeout into an inactivity timeout
// for uploads (uploadIdleLimit): fasthttp sets one deadline for the whole
// request, which a large upload on a slow link would outlive while still
// making progress. The janitor relies on the limit: an upload alive on any
// instance writes to its temp file at least that often.
type deadlineReader struct {
	r       io.Reader
	conn    net.Conn
	timeout time.Duration
	last    time.Time
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	// Refreshing at most once a second saves syscalls; well within the
	// timeout, so that a client sending more often is never cut off.
	if now := time.Now(); now.Sub(d.last) > min(time.Second, d.timeout/4) {
		d.last = now
		_ = d.conn.SetReadDeadline(now.Add(d.timeout))
	}
	return d.r.Read(p)
}

// bodyStream is the request body as a stream, never buffered whole.
func (h *Handler) bodyStream(c *fiber.Ctx) io.Reader {
	req := c.Request()
	var r io.Reader
	if req.IsBodyStream() {
		r = req.BodyStream()
		if conn := c.Context().Conn(); conn != nil {
			r = &deadlineReader{r: r, conn: conn, timeout: uploadIdleLimit(h.cfg)}
		}
	} else {
		r = bytes.NewReader(req.Body())
	}
	if cl := int64(req.Header.ContentLength()); cl >= 0 {
		return &exactReader{r: r, left: cl}
	}
	return r
}

func (h *Handler) upload(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if conn := c.Context().Conn(); conn != nil && h.cfg.ReadTimeout <= 0 {
		// Without a read timeout fasthttp clears the deadline the upload's
		// inactivity limit set only when an idle timeout is set; the next
		// request on the connection must not inherit it.
		defer func() { _ = conn.SetReadDeadline(time.Time{}) }()
	}
	// The signature is the path's last segment (what initiate-upload hands
	// out), or the query of URLs handed out before: both stay valid until
	// they expire.
	expires, signature := c.Query(QueryExpires), c.Query(QuerySignature)
	if token := c.Params("token"); token != "" {
		expires, signature = SplitPathToken(token)
	}
	t, err := h.svc.AuthorizeUpload(ctx, c.Params("bucket"), c.Params("object"), expires, signature)
	if err != nil {
		c.Response().SetConnectionClose()
		return err
	}
	reqType := string(c.Request().Header.ContentType())
	multipartBody := strings.HasPrefix(strings.ToLower(reqType), "multipart/")
	cl := int64(c.Request().Header.ContentLength())
	// Refuse a length that cannot be right before reading a byte: another
	// one than the size declared at initiate-upload (a raw body; a multipart
	// file part is measured while streaming), or one that cannot fit (a
	// multipart body may carry up to multipartOverhead of framing besides the
	// file). The stored bytes are limited exactly while streaming.
	if d := t.File.DeclaredSize; d != nil && !multipartBody && cl >= 0 && cl != *d {
		c.Response().SetConnectionClose()
		return ErrSizeMismatch
	}
	limit := h.cfg.MaxUploadBytes
	if multipartBody {
		limit += multipartOverhead
	}
	if cl > limit {
		c.Response().SetConnectionClose()
		return ErrTooLarge
	}
	body := h.bodyStream(c)
	src, ctype, err := uploadSource(body, reqType)
	if err != nil {
		c.Response().SetConnectionClose()
		return err
	}
	f, err := h.svc.Upload(ctx, t, src, ctype)
	if err != nil {
		c.Response().SetConnectionClose()
		return err
	}
	// Whatever follows the file part (the closing boundary) must be consumed
	// before the connection can carry another request.
	if n, _ := io.Copy(io.Discard, io.LimitReader(body, 64<<10)); n == 64<<10 {
		c.Response().SetConnectionClose()
	}
	return c.Status(fiber.StatusCreated).JSON(UploadResponse{
		Filename: f.Filename, BucketName: t.Bucket.Name, Size: f.Size, ContentType: f.ContentType, ObjectName: f.ObjectName,
	})
}

// multipartOverhead is the framing (boundaries, part headers, small fields)
// a multipart upload may add to the file's own bytes.
const multipartOverhead = 64 << 10

// uploadSource picks the bytes to store: the raw body, or the "file" field of
// a multipart body (read part by part, never buffered).
func uploadSource(body io.Reader, contentType string) (io.Reader, string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" {
		if err != nil {
			return body, "", nil
		}
		return body, mt, nil
	}
	if params["boundary"] == "" {
		return nil, "", ErrNoFilePart
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, "", ErrNoFilePart
			}
			return nil, "", ErrIncompleteUpload.Wrap(err)
		}
		if part.FormName() == "file" {
			ct := part.Header.Get("Content-Type")
			if pmt, _, err := mime.ParseMediaType(ct); err == nil {
				ct = pmt
			} else {
				ct = ""
			}
			return part, ct, nil
		}
		// Small form fields before the file are skipped.
		if _, err := io.Copy(io.Discard, io.LimitReader(part, 1<<20)); err != nil {
			return nil, "", ErrIncompleteUpload.Wrap(err)
		}
	}
}

// serve answers GET and HEAD of /files/download and /files/view (view set).
func (h *Handler) serve(view bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentSecurityPolicy, userContentCSP)
		c.Set(fiber.HeaderXContentTypeOptions, noSniff)
		ctx := c.UserContext()
		bref, oref := c.Params("bucket"), c.Params("object")
		var f *File
		var b *buckets.Bucket
		var err error
		// Both segments UUIDs: the JS SDK's id form; a bucket whose name looks
		// like a UUID still resolves by name below.
		if uuid.Validate(bref) == nil && uuid.Validate(oref) == nil {
			f, b, err = h.svc.ResolveBytes(ctx, bref, oref, true)
		}
		if f == nil {
			f, b, err = h.svc.ResolveBytes(ctx, bref, oref, false)
		}
		if err != nil {
			return err
		}
		err = h.svc.AuthorizeBytes(b, f, c.Query(QueryExpires), c.Query(QuerySignature), func() *identity.Principal {
			p, _ := h.caller(c)
			return p
		})
		if err != nil {
			return err
		}
		return h.send(c, f, b, view)
	}
}

// send writes f's bytes. The view route shows a file inline, except one of an
// active type while the byte routes share the API's origin (no
// FILES_PUBLIC_URL): a browser would run its script as the API's origin, if it
// ignored the sandbox.
func (h *Handler) send(c *fiber.Ctx, f *File, b *buckets.Bucket, view bool) error {
	etag := `"` + f.ID.String() + `"`
	if f.ChecksumSHA256 != nil {
		etag = `"` + *f.ChecksumSHA256 + `"`
	}
	mod := f.CreatedAt
	if f.UpdatedAt != nil {
		mod = *f.UpdatedAt
	}
	ct := contentTypeOf(f)
	disp := "attachment"
	if view && (h.cfg.FilesBaseURL() != "" || !activeType(ct)) {
		disp = "inline"
	}
	c.Set(fiber.HeaderContentDisposition, ContentDisposition(disp, f.Filename))
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderLastModified, mod.UTC().Format(http.TimeFormat))
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	switch {
	case !b.IsPublic:
		c.Set(fiber.HeaderCacheControl, "private, max-age=0")
	case view:
		c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	}
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && etagMatches(inm, etag) {
		c.Status(fiber.StatusNotModified)
		c.Response().SkipBody = true
		return nil
	}
	c.Set(fiber.HeaderContentType, ct)
	size := f.Size
	start, length, partial, rerr := parseRange(c.Get(fiber.HeaderRange), size)
	if rerr != nil {
		c.Set(fiber.HeaderContentRange, "bytes */"+strconv.FormatInt(size, 10))
		return ErrRangeNotSatisfiable
	}
	status := fiber.StatusOK
	if partial {
		status = fiber.StatusPartialContent
		c.Set(fiber.HeaderContentRange, "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+length-1, 10)+"/"+strconv.FormatInt(size, 10))
	}
	c.Status(status)
	if c.Method() == fiber.MethodHead {
		c.Response().SkipBody = true
		c.Response().Header.SetContentLength(int(length))
		return nil
	}
	o, err := h.svc.Open(c.UserContext(), f)
	if err != nil {
		return err
	}
	if o.Size() != size {
		_ = o.Close()
		return apperr.Internal(errors.New("files: stored size differs from the row"))
	}
	c.Response().SetBodyStream(&sectionCloser{SectionReader: io.NewSectionReader(o, start, length), c: o}, int(length))
	return nil
}

// sectionCloser lets fasthttp close the file once the body is sent.
type sectionCloser struct {
	*io.SectionReader
	c io.Closer
}

func (s *sectionCloser) Close() error { return s.c.Close() }

// etagMatches implements If-None-Match (weak comparison, "*" matches).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

var errUnsatisfiable = errors.New("range not satisfiable")

// parseRange reads a single "bytes=" range. Anything it does not understand
// (other units, several ranges, bad syntax) means the whole body, as RFC 9110
// allows; a range starting past the end is errUnsatisfiable.
func parseRange(header string, size int64) (start, length int64, partial bool, err error) {
	spec, ok := strings.CutPrefix(strings.Trim(header, " \t"), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	a, z, ok := strings.Cut(strings.Trim(spec, " \t"), "-")
	if !ok {
		return 0, size, false, nil
	}
	if a == "" {
		n, ok := rangePos(z)
		if !ok {
			return 0, size, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, errUnsatisfiable
		}
		if n > size {
			n = size
		}
		return size - n, n, true, nil
	}
	s, ok := rangePos(a)
	if !ok {
		return 0, size, false, nil
	}
	e := size - 1
	if z != "" {
		if e2, ok := rangePos(z); !ok || e2 < s {
			return 0, size, false, nil
		} else if e2 < e {
			e = e2
		}
	}
	if s >= size {
		return 0, 0, false, errUnsatisfiable
	}
	return s, e - s + 1, true, nil
}

// rangePos reads a byte position of a Range: digits only (ParseInt alone
// would take "+5", and a malformed range must be ignored, not refused).
func rangePos(s string) (int64, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// ContentDisposition renders RFC 6266: an ASCII fallback filename plus
// filename* in UTF-8 when the name is not plain ASCII.
func ContentDisposition(kind, name string) string {
	var fb strings.Builder
	plain := true
	for _, r := range name {
		if r < 0x20 || r >= 0x7f || r == '"' || r == '\\' {
			fb.WriteByte('_')
			plain = false
			continue
		}
		fb.WriteRune(r)
	}
	v := kind + `; filename="` + fb.String() + `"`
	if !plain {
		v += "; filename*=UTF-8''" + rfc5987(name)
	}
	return v
}

func rfc5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

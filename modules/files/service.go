package files

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/url"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/modules/buckets"
	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/identity"
)

// MaxFilename bounds an original filename (bytes).
const MaxFilename = 255

// Service holds the file rules: who may upload, read and delete, the upload
// state machine, signed URLs and caching.
type Service struct {
	db      *bun.DB
	repo    *Repository
	store   Store
	signer  *Signer
	buckets *buckets.Service
	cache   *cache.Cache
	cfg     *config.Config
	log     *zap.Logger
	now     func() time.Time
}

// Params are NewService's dependencies.
type Params struct {
	fx.In
	DB      *bun.DB
	Store   Store
	Signer  *Signer
	Buckets *buckets.Service
	Cache   *cache.Cache
	Config  *config.Config
	Logger  *zap.Logger
}

// NewService builds the service.
func NewService(p Params) *Service {
	return &Service{
		db: p.DB, repo: NewRepository(p.DB), store: p.Store, signer: p.Signer, buckets: p.Buckets,
		cache: p.Cache, cfg: p.Config, log: p.Logger.Named("files"), now: time.Now,
	}
}

func (s *Service) key(id uuid.UUID) string { return s.cache.Key("files", id.String()) }

// Get returns a file row by id (cached), without authorization. Errors: file_not_found.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*File, error) {
	return cache.GetOrLoad(ctx, s.cache, s.key(id), 0, func(ctx context.Context) (*File, error) {
		return s.repo.FindByID(ctx, id)
	})
}

// ValidFilename reports whether an original filename is acceptable: 1–255
// bytes of valid UTF-8 without control characters.
func ValidFilename(name string) bool {
	if name == "" || len(name) > MaxFilename || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// objectName is <uuid><.ext>, keeping a plain extension of the original name.
func objectName(filename string) string {
	name := uuid.NewString()
	ext := filepath.Ext(filename)
	if len(ext) < 2 || len(ext) > 17 {
		return name
	}
	for _, c := range ext[1:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return name
		}
	}
	return name + ext
}

// GuessType is the content type of an object by extension, or "".
func GuessType(name string) string {
	return mime.TypeByExtension(filepath.Ext(name))
}

// Initiate is step 1 of the upload flow for a user: a pending row (its size
// the declared one, when size is given) and its signed upload URL (a path
// ending in the signature; the handler adds the base). Errors:
// invalid_filename, bucket_not_found, bucket_permission_denied, file_too_large.
func (s *Service) Initiate(ctx context.Context, p *identity.Principal, bucketID uuid.UUID, filename string, contentType *string, size *int64) (*File, *buckets.Bucket, string, error) {
	if !ValidFilename(filename) {
		return nil, nil, "", ErrInvalidFilename
	}
	if size != nil && *size > s.cfg.MaxUploadBytes {
		return nil, nil, "", ErrTooLarge
	}
	b, err := s.buckets.Get(ctx, bucketID)
	if err != nil {
		return nil, nil, "", err
	}
	if !(b.IsPublic || buckets.CanWrite(p, b)) {
		return nil, nil, "", ErrBucketDenied
	}
	if contentType != nil && *contentType == "" {
		contentType = nil
	}
	exp := s.now().Add(s.cfg.SignedURLTTL)
	f := &File{
		BucketID: b.ID, ObjectName: objectName(filename), Filename: filename, ContentType: contentType,
		Status: StatusPending, OwnerID: p.ID, UploadExpiresAt: exp, DeclaredSize: size,
	}
	if size != nil {
		f.Size = *size
	}
	if err := s.repo.Insert(ctx, f); err != nil {
		return nil, nil, "", err
	}
	// The signature travels in the path: the original admin UI keeps only
	// the path of upload_url (it uploads through its own proxy).
	return f, b, UploadPrefix + url.PathEscape(b.Name) + "/" + f.ObjectName + "/" + s.signer.PathToken("PUT", b.ID, f.ObjectName, exp), nil
}

// readable is nil when p may read f in b (download-info and byte routes).
func readable(p *identity.Principal, b *buckets.Bucket, f *File) error {
	switch {
	case b.IsPublic:
		return nil
	case p.IsAnon():
		return ErrAuthRequired
	case p.IsSuperuser() || p.ID == f.OwnerID || p.ID == b.OwnerID:
		return nil
	}
	return ErrAccessDenied
}

// Info loads a file for download-info/view-info. With public set (the
// /public/... routes) only public-bucket files qualify. Errors:
// file_not_found, authentication_required, file_access_denied, file_not_public.
func (s *Service) Info(ctx context.Context, p *identity.Principal, id uuid.UUID, public bool) (*File, *buckets.Bucket, error) {
	f, err := s.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	b, err := s.buckets.Get(ctx, f.BucketID)
	if errors.Is(err, buckets.ErrNotFound) {
		return nil, nil, ErrFileNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	if public {
		if !b.IsPublic {
			return nil, nil, ErrNotPublicFile
		}
		return f, b, nil
	}
	if err := readable(p, b, f); err != nil {
		return nil, nil, err
	}
	return f, b, nil
}

// BytePath is the path and query of a byte route (kind "download" or
// "view") for f; private buckets get a signature valid for DOWNLOAD_URL_TTL.
func (s *Service) BytePath(kind string, b *buckets.Bucket, f *File, extra url.Values) string {
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	if !b.IsPublic {
		for k, v := range s.signer.Sign("GET", b.ID, f.ObjectName, s.now().Add(s.cfg.DownloadURLTTL)) {
			q[k] = v
		}
	}
	p := "/files/" + kind + "/" + url.PathEscape(b.Name) + "/" + f.ObjectName
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

// List is GET /api/v1/files for a user: a readable bucket's files, or the
// caller's own. Errors: bucket_not_found.
func (s *Service) List(ctx context.Context, p *identity.Principal, bucketID *uuid.UUID, skip, limit int) ([]File, map[uuid.UUID]string, error) {
	var filter Filter
	if bucketID != nil {
		b, err := s.buckets.Get(ctx, *bucketID)
		if err != nil {
			return nil, nil, err
		}
		if !buckets.CanRead(p, b) {
			return nil, nil, buckets.ErrNotFound
		}
		filter.BucketID = bucketID
	} else {
		filter.OwnerID = &p.ID
	}
	rows, err := s.repo.List(ctx, filter, skip, limit)
	if err != nil {
		return nil, nil, err
	}
	names, err := s.bucketNames(ctx, rows)
	return rows, names, err
}

// bucketNames resolves the bucket names of rows (cached per bucket).
func (s *Service) bucketNames(ctx context.Context, rows []File) (map[uuid.UUID]string, error) {
	names := map[uuid.UUID]string{}
	for _, f := range rows {
		if _, ok := names[f.BucketID]; ok {
			continue
		}
		b, err := s.buckets.Get(ctx, f.BucketID)
		if err != nil {
			return nil, err
		}
		names[b.ID] = b.Name
	}
	return names, nil
}

// ListBucket is GET /api/v1/buckets/{id}/files (and /files/list/{bucket}):
// the files of a bucket p may read. Errors: bucket_not_found,
// bucket_not_public, bucket_forbidden.
func (s *Service) ListBucket(ctx context.Context, p *identity.Principal, b *buckets.Bucket, readyOnly bool, skip, limit int) ([]File, error) {
	if err := buckets.ReadErr(p, b); err != nil {
		return nil, err
	}
	return s.repo.List(ctx, Filter{BucketID: &b.ID, ReadyOnly: readyOnly}, skip, limit)
}

// BucketByRef resolves a bucket by id or name. Errors: bucket_not_found.
func (s *Service) BucketByRef(ctx context.Context, ref string) (*buckets.Bucket, error) {
	if id, err := uuid.Parse(ref); err == nil {
		return s.buckets.Get(ctx, id)
	}
	b, err := s.buckets.GetByName(ctx, ref)
	if errors.Is(err, buckets.ErrNotFound) {
		return nil, buckets.ErrNotFound
	}
	return b, err
}

// Delete is DELETE /api/v1/files/{id} by the file's owner or a superuser: the
// row, then the bytes. Errors: file_not_found, not_enough_permissions.
func (s *Service) Delete(ctx context.Context, p *identity.Principal, id uuid.UUID) error {
	f, err := s.repo.FindByID(ctx, id)
	if err != nil {
		return err
	}
	if !(p.IsSuperuser() || p.ID == f.OwnerID) {
		return identity.ErrNotOwner
	}
	ok, err := s.repo.Delete(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return ErrFileNotFound
	}
	s.cache.Invalidate(s.key(id))
	s.removeBytes(ctx, []File{*f})
	return nil
}

// removeBytes deletes the objects of rows already deleted; a failure is
// logged (the row is gone, so nothing can reach the bytes).
func (s *Service) removeBytes(ctx context.Context, rows []File) {
	for _, f := range rows {
		if err := s.store.Delete(ctx, f.BucketID, f.ObjectName); err != nil {
			s.log.Warn("object not removed", zap.Stringer("bucket_id", f.BucketID), zap.String("object", f.ObjectName), zap.Error(err))
		}
	}
}

// DeleteUserData removes every file userID uploaded, in any bucket, bytes
// included (users.OwnedData).
func (s *Service) DeleteUserData(ctx context.Context, userID uuid.UUID) error {
	rows, err := s.repo.DeleteByOwner(ctx, userID)
	if err != nil {
		return err
	}
	for _, f := range rows {
		s.cache.Invalidate(s.key(f.ID))
	}
	s.removeBytes(ctx, rows)
	return nil
}

// UploadTarget is a verified upload: the pending row and its bucket.
type UploadTarget struct {
	File   *File
	Bucket *buckets.Bucket
}

// AuthorizeUpload checks an upload URL before any byte is read. Errors:
// invalid_object_name, invalid_signature, file_not_found, object_exists.
func (s *Service) AuthorizeUpload(ctx context.Context, bucketName, object, expires, signature string) (*UploadTarget, error) {
	if !buckets.ValidName(bucketName) || !ValidObjectName(object) {
		return nil, ErrInvalidName
	}
	// Uploads stream for minutes, so their requests carry no database
	// deadline (httpserver): their database calls take one each.
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DBRequestTimeout())
	defer cancel()
	b, err := s.buckets.GetByName(ctx, bucketName)
	if errors.Is(err, buckets.ErrNotFound) {
		// No bucket, so no signature can be valid; say nothing more.
		return nil, ErrBadSignature
	}
	if err != nil {
		return nil, err
	}
	if !s.signer.Verify("PUT", b.ID, object, expires, signature, s.now()) {
		return nil, ErrBadSignature
	}
	f, err := s.repo.FindByObject(ctx, b.ID, object)
	if err != nil {
		return nil, err
	}
	if f.Status != StatusPending {
		return nil, ErrAlreadyUploaded
	}
	return &UploadTarget{File: f, Bucket: b}, nil
}

// Upload streams body into the target's object and marks the row ready.
// contentType is the type the body declared ("" when none). A file whose
// size was declared must get exactly that many bytes. Errors:
// size_mismatch, file_too_large, object_exists, incomplete_upload,
// insufficient_storage, storage_unavailable, file_not_found.
func (s *Service) Upload(ctx context.Context, t *UploadTarget, body io.Reader, contentType string) (*File, error) {
	f := *t.File
	if f.DeclaredSize != nil {
		body = &declaredReader{r: body, left: *f.DeclaredSize}
	}
	stored, err := s.store.Put(ctx, f.BucketID, f.ObjectName, body, s.cfg.MaxUploadBytes)
	if err != nil {
		return nil, s.putErr(err)
	}
	if f.ContentType == nil {
		ct := contentType
		if ct == "" || ct == "application/octet-stream" {
			if g := GuessType(f.Filename); g != "" {
				ct = g
			}
		}
		if ct != "" {
			f.ContentType = &ct
		}
	}
	sum := stored.SHA256
	f.Size, f.ChecksumSHA256, f.Status = stored.Size, &sum, StatusReady
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.DBRequestTimeout())
	ok, err := s.repo.MarkReady(mctx, &f)
	cancel()
	if err != nil || !ok {
		// The row vanished (bucket or file deleted, janitor) or the database
		// failed: the bytes must not outlive it.
		_ = s.store.Delete(context.WithoutCancel(ctx), f.BucketID, f.ObjectName)
		if err != nil {
			return nil, err
		}
		return nil, ErrFileNotFound
	}
	s.cache.Invalidate(s.key(f.ID))
	return &f, nil
}

// errSizeMismatch ends the read of an upload whose length is not the
// declared one.
var errSizeMismatch = errors.New("files: upload length differs from the declared size")

// declaredReader fails a body that ends before, or goes on past, the size
// declared at initiate-upload, so that Put stores nothing.
type declaredReader struct {
	r    io.Reader
	left int64
}

func (d *declaredReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.left -= int64(n)
	switch {
	case d.left < 0:
		return n, errSizeMismatch
	case err == io.EOF && d.left > 0:
		return n, errSizeMismatch
	}
	return n, err
}

// putErr maps storage failures to the contract.
func (s *Service) putErr(err error) error {
	var re *ReadError
	switch {
	case errors.Is(err, errSizeMismatch):
		return ErrSizeMismatch
	case errors.As(err, &re):
		return ErrIncompleteUpload.Wrap(err)
	case errors.Is(err, ErrObjectExists):
		return ErrAlreadyUploaded
	case errors.Is(err, ErrObjectTooLarge):
		return ErrTooLarge
	case errors.Is(err, ErrBadName):
		return ErrInvalidName
	case errors.Is(err, ErrNoSpace):
		return ErrInsufficientSpace.Wrap(err)
	case errors.Is(err, ErrUnwritable):
		return ErrStorageUnavailable.Wrap(err)
	}
	return apperr.Internal(err)
}

// ResolveBytes finds the ready file a byte route names: by bucket name (or
// id) and object name, or with byID by bucket id and file id. Errors:
// invalid_object_name, bucket_not_found, file_not_found.
func (s *Service) ResolveBytes(ctx context.Context, bucketRef, objectRef string, byID bool) (*File, *buckets.Bucket, error) {
	var f *File
	var b *buckets.Bucket
	var err error
	if byID {
		bid, e1 := uuid.Parse(bucketRef)
		fid, e2 := uuid.Parse(objectRef)
		if e1 != nil || e2 != nil {
			return nil, nil, ErrInvalidName
		}
		if f, err = s.Get(ctx, fid); err != nil {
			return nil, nil, err
		}
		if f.BucketID != bid {
			return nil, nil, ErrFileNotFound
		}
		if b, err = s.buckets.Get(ctx, bid); err != nil {
			return nil, nil, err
		}
	} else {
		if !ValidObjectName(objectRef) || (!buckets.ValidName(bucketRef) && uuid.Validate(bucketRef) != nil) {
			return nil, nil, ErrInvalidName
		}
		if b, err = s.BucketByRef(ctx, bucketRef); err != nil {
			return nil, nil, err
		}
		if f, err = s.repo.FindByObject(ctx, b.ID, objectRef); err != nil {
			return nil, nil, err
		}
	}
	if f.Status != StatusReady {
		return nil, nil, ErrFileNotFound
	}
	return f, b, nil
}

// AuthorizeBytes decides a read of f's bytes: public buckets need nothing;
// private ones a valid GET signature, or caller (resolved lazily from the
// Bearer token) being the file's owner, the bucket's owner or a superuser.
// Errors: invalid_signature, file_access_denied.
func (s *Service) AuthorizeBytes(b *buckets.Bucket, f *File, expires, signature string, caller func() *identity.Principal) error {
	if b.IsPublic {
		return nil
	}
	if expires != "" || signature != "" {
		if s.signer.Verify("GET", b.ID, f.ObjectName, expires, signature, s.now()) {
			return nil
		}
		if p := caller(); !p.IsAnon() && readable(p, b, f) == nil {
			return nil
		}
		return ErrBadSignature
	}
	if p := caller(); !p.IsAnon() && readable(p, b, f) == nil {
		return nil
	}
	return ErrAccessDenied
}

// Open opens f's bytes. Errors: file_not_found (bytes missing).
func (s *Service) Open(ctx context.Context, f *File) (Object, error) {
	o, err := s.store.Open(ctx, f.BucketID, f.ObjectName)
	if errors.Is(err, ErrObjectMissing) {
		s.log.Error("ready file has no bytes", zap.Stringer("file_id", f.ID))
		return nil, ErrFileNotFound
	}
	if err != nil {
		return nil, apperr.Internal(err)
	}
	return o, nil
}

// Cleanup removes what no upload or row can reach any more and returns how
// many things it removed: temp files untouched for staleTempAge (first: that
// needs no database, so a crash's leftovers go at start even while the
// database is unreachable), pending rows whose upload URL expired before now
// (with any bytes they got), and the directories of buckets that no longer
// exist.
func (s *Service) Cleanup(ctx context.Context, now time.Time) (int, error) {
	n, tempErr := s.store.SweepTemps(ctx, now.Add(-staleTempAge(s.cfg)))
	expired, err := s.expirePending(ctx, now)
	n += expired
	if err != nil {
		return n, errors.Join(tempErr, err)
	}
	dirs, err := s.removeOrphanDirs(ctx)
	return n + dirs, errors.Join(tempErr, err)
}

// expirePending deletes the pending rows whose upload URL expired before now,
// and their bytes. Rows are shared by every instance: one of them does it per
// tick.
func (s *Service) expirePending(ctx context.Context, now time.Time) (int, error) {
	var rows []File
	_, err := db.WithAdvisoryLock(ctx, s.db, "files.expire-pending", func(ctx context.Context, tx bun.Tx) (err error) {
		rows, err = NewRepository(tx).DeleteExpiredPending(ctx, now)
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, f := range rows {
		s.cache.Invalidate(s.key(f.ID))
	}
	s.removeBytes(ctx, rows)
	return len(rows), nil
}

// removeOrphanDirs deletes the directories of buckets that no longer exist.
func (s *Service) removeOrphanDirs(ctx context.Context) (int, error) {
	ids, err := s.store.Buckets(ctx)
	if err != nil {
		return 0, err
	}
	exists, err := s.buckets.Exists(ctx, ids)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if !exists[id] {
			if err := s.store.DeleteBucket(ctx, id); err == nil {
				n++
			}
		}
	}
	return n, nil
}

// Contents implements buckets.Contents: what a bucket delete does to files.
type Contents struct {
	repo  *Repository
	store Store
	cache *cache.Cache
}

var _ buckets.Contents = (*Contents)(nil)

// NewContents builds the bucket-delete hook (no dependency on buckets.Service,
// which depends on it).
func NewContents(d *bun.DB, store Store, c *cache.Cache) *Contents {
	return &Contents{repo: NewRepository(d), store: store, cache: c}
}

// DeleteBucketRows deletes the bucket's file rows in tx.
func (c *Contents) DeleteBucketRows(ctx context.Context, tx bun.Tx, bucketID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := NewRepository(tx).DeleteByBucket(ctx, bucketID)
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(rows))
	for i, f := range rows {
		ids[i] = f.ID
	}
	return ids, nil
}

// PurgeBucket drops the deleted files from the cache and removes the bytes.
func (c *Contents) PurgeBucket(ctx context.Context, bucketID uuid.UUID, fileIDs []uuid.UUID) error {
	keys := make([]string, len(fileIDs))
	for i, id := range fileIDs {
		keys[i] = c.cache.Key("files", id.String())
	}
	c.cache.Invalidate(keys...)
	return c.store.DeleteBucket(ctx, bucketID)
}

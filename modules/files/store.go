package files

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// Store keeps file bytes. Objects are addressed by bucket id and object name;
// the local-disk implementation is DiskStore, an S3-compatible one can follow.
type Store interface {
	// Put streams r into a new object of at most max bytes and returns what
	// was stored. It never overwrites: an existing object is ErrObjectExists.
	// On any error nothing is left behind.
	Put(ctx context.Context, bucketID uuid.UUID, object string, r io.Reader, max int64) (Stored, error)
	// Open opens an object for ranged reads.
	Open(ctx context.Context, bucketID uuid.UUID, object string) (Object, error)
	// Delete removes an object; a missing one is not an error.
	Delete(ctx context.Context, bucketID uuid.UUID, object string) error
	// DeleteBucket removes every object of a bucket; a missing bucket is not an error.
	DeleteBucket(ctx context.Context, bucketID uuid.UUID) error
	// Buckets lists the bucket ids that hold bytes (for the janitor).
	Buckets(ctx context.Context) ([]uuid.UUID, error)
	// SweepTemps removes unfinished uploads last written before cutoff.
	SweepTemps(ctx context.Context, cutoff time.Time) (int, error)
}

// Stored describes an object just written.
type Stored struct {
	Size   int64
	SHA256 string
}

// Object is an open object.
type Object interface {
	io.ReaderAt
	io.Closer
	Size() int64
	ModTime() time.Time
}

// Storage errors; the service maps them to the contract.
var (
	// ErrObjectExists refuses an overwrite.
	ErrObjectExists = errors.New("storage: object exists")
	// ErrObjectTooLarge is a body over the limit Put was given.
	ErrObjectTooLarge = errors.New("storage: object too large")
	// ErrObjectMissing is an object with no bytes.
	ErrObjectMissing = errors.New("storage: object missing")
	// ErrBadName is an object name that fails ValidObjectName.
	ErrBadName = errors.New("storage: invalid object name")
	// ErrNoSpace is a full disk or quota.
	ErrNoSpace = errors.New("storage: no space left")
	// ErrUnwritable is a storage directory that cannot be written.
	ErrUnwritable = errors.New("storage: not writable")
)

// ReadError wraps a failure to read the upload body (client gone, short body):
// the client's fault, not the disk's.
type ReadError struct{ Err error }

// Error describes the read failure.
func (e *ReadError) Error() string { return "storage: reading upload: " + e.Err.Error() }

// Unwrap returns the reader's error.
func (e *ReadError) Unwrap() error { return e.Err }

const (
	tempPrefix = ".upload-"
	tempSuffix = ".tmp"
	// MaxObjectName bounds object names (one path component on any filesystem).
	MaxObjectName = 200
	copyBuffer    = 256 << 10
)

// ValidObjectName reports whether name can be an object name: 1–200 of
// A-Z a-z 0-9 . _ -, not starting with '.', no "..". Everything the server
// generates (<uuid><.ext>) qualifies; anything that could leave the bucket's
// directory (/, \, .., NUL, %-escapes) does not.
func ValidObjectName(name string) bool {
	if name == "" || len(name) > MaxObjectName || name[0] == '.' || strings.Contains(name, "..") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// DiskStore keeps objects at <root>/<bucket_id>/<object>.
type DiskStore struct {
	root string
}

// NewDiskStore creates root if needed and resolves it (symlinks included), so
// that containment checks compare real paths.
func NewDiskStore(root string) (*DiskStore, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("STORAGE_PATH: %w", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("STORAGE_PATH: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("STORAGE_PATH: %w", err)
	}
	return &DiskStore{root: real}, nil
}

// Root is the resolved storage directory.
func (s *DiskStore) Root() string { return s.root }

// path builds an object's path and proves it stays inside the bucket's
// directory under root.
func (s *DiskStore) path(bucketID uuid.UUID, object string) (dir, full string, err error) {
	if !ValidObjectName(object) {
		return "", "", ErrBadName
	}
	dir = filepath.Join(s.root, bucketID.String())
	full = filepath.Join(dir, object)
	if filepath.Dir(full) != dir || !strings.HasPrefix(full, s.root+string(filepath.Separator)) {
		return "", "", ErrBadName
	}
	return dir, full, nil
}

// countingReader remembers a read error so that Put can tell the client's
// failures from the disk's.
type countingReader struct {
	r   io.Reader
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// Put writes to a temp file in the bucket's directory while hashing, fsyncs
// it, links it into place (link fails rather than overwrite) and fsyncs the
// directory.
func (s *DiskStore) Put(ctx context.Context, bucketID uuid.UUID, object string, r io.Reader, max int64) (Stored, error) {
	dir, full, err := s.path(bucketID, object)
	if err != nil {
		return Stored{}, err
	}
	if _, err := os.Lstat(full); err == nil {
		return Stored{}, ErrObjectExists
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return Stored{}, diskErr(err)
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+"*"+tempSuffix)
	if err != nil {
		return Stored{}, diskErr(err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	src := &countingReader{r: io.LimitReader(r, max+1)}
	buf := make([]byte, copyBuffer)
	n, err := io.CopyBuffer(io.MultiWriter(tmp, h), struct{ io.Reader }{src}, buf)
	if err != nil {
		if src.err != nil {
			return Stored{}, &ReadError{Err: src.err}
		}
		return Stored{}, diskErr(err)
	}
	if n > max {
		return Stored{}, ErrObjectTooLarge
	}
	if err := ctx.Err(); err != nil {
		return Stored{}, &ReadError{Err: err}
	}
	if err := tmp.Sync(); err != nil {
		return Stored{}, diskErr(err)
	}
	if err := tmp.Close(); err != nil {
		return Stored{}, diskErr(err)
	}
	if err := os.Link(tmp.Name(), full); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return Stored{}, ErrObjectExists
		}
		return Stored{}, diskErr(err)
	}
	done = true
	_ = os.Remove(tmp.Name())
	if err := syncDir(dir); err != nil {
		_ = os.Remove(full)
		return Stored{}, diskErr(err)
	}
	return Stored{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// diskErr classifies a filesystem failure.
func diskErr(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EFBIG):
		return fmt.Errorf("%w: %v", ErrNoSpace, err)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EROFS),
		errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EEXIST), errors.Is(err, syscall.EIO):
		return fmt.Errorf("%w: %v", ErrUnwritable, err)
	}
	return err
}

type diskObject struct {
	*os.File
	size int64
	mod  time.Time
}

func (o *diskObject) Size() int64        { return o.size }
func (o *diskObject) ModTime() time.Time { return o.mod }

// Open opens an object for reading.
func (s *DiskStore) Open(_ context.Context, bucketID uuid.UUID, object string) (Object, error) {
	_, full, err := s.path(bucketID, object)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(full)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrObjectMissing
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, ErrObjectMissing
	}
	return &diskObject{File: f, size: st.Size(), mod: st.ModTime()}, nil
}

// Delete removes an object.
func (s *DiskStore) Delete(_ context.Context, bucketID uuid.UUID, object string) error {
	_, full, err := s.path(bucketID, object)
	if err != nil {
		return err
	}
	if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// DeleteBucket removes the bucket's directory.
func (s *DiskStore) DeleteBucket(_ context.Context, bucketID uuid.UUID) error {
	return os.RemoveAll(filepath.Join(s.root, bucketID.String()))
}

// Buckets lists the directories named by a bucket id.
func (s *DiskStore) Buckets(context.Context) ([]uuid.UUID, error) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	for _, e := range entries {
		if id, err := uuid.Parse(e.Name()); err == nil && e.IsDir() && id.String() == e.Name() {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// SweepTemps removes temp files not written to since cutoff (an upload in
// progress keeps touching its file).
func (s *DiskStore) SweepTemps(ctx context.Context, cutoff time.Time) (int, error) {
	ids, err := s.Buckets(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		dir := filepath.Join(s.root, id.String())
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), tempPrefix) || !strings.HasSuffix(e.Name(), tempSuffix) {
				continue
			}
			info, err := e.Info()
			if err != nil || info.ModTime().After(cutoff) {
				continue
			}
			if os.Remove(filepath.Join(dir, e.Name())) == nil {
				n++
			}
		}
	}
	return n, nil
}

package files

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/apperr"
)

func TestValidObjectName(t *testing.T) {
	good := []string{"a", "3f2c.png", uuid.NewString() + ".tar", "A_b-c.d", strings.Repeat("x", MaxObjectName)}
	bad := []string{"", ".", "..", "../x", "a/b", `a\b`, ".hidden", "a..b", "%2e%2e", "a\x00b", "a b", "é", strings.Repeat("x", MaxObjectName+1)}
	for _, n := range good {
		if !ValidObjectName(n) {
			t.Errorf("%q refused", n)
		}
	}
	for _, n := range bad {
		if ValidObjectName(n) {
			t.Errorf("%q accepted", n)
		}
	}
}

func TestObjectNameKeepsPlainExtensions(t *testing.T) {
	for name, ext := range map[string]string{"a.png": ".png", "b.tar.gz": ".gz", "noext": "", "x.p%g": "", "y.": "", ".bashrc": ".bashrc", "z.12345678901234567": ""} {
		got := objectName(name)
		if !strings.HasSuffix(got, ext) || uuid.Validate(strings.TrimSuffix(got, ext)) != nil || !ValidObjectName(got) {
			t.Errorf("objectName(%q) = %q, want <uuid>%s", name, got, ext)
		}
	}
}

func TestParseRange(t *testing.T) {
	cases := []struct {
		h             string
		size          int64
		start, length int64
		partial, bad  bool
	}{
		{"", 100, 0, 100, false, false},
		{"bytes=0-0", 100, 0, 1, true, false},
		{"bytes=10-19", 100, 10, 10, true, false},
		{"bytes=90-", 100, 90, 10, true, false},
		{"bytes=90-500", 100, 90, 10, true, false},
		{"bytes=-10", 100, 90, 10, true, false},
		{"bytes=-500", 100, 0, 100, true, false},
		{"bytes=100-", 100, 0, 0, false, true},
		{"bytes=-0", 100, 0, 0, false, true},
		{"bytes=0-", 0, 0, 0, false, true},
		{"bytes=20-10", 100, 0, 100, false, false},
		{"bytes=a-b", 100, 0, 100, false, false},
		{"bytes=0-1,3-4", 100, 0, 100, false, false},
		{"items=0-1", 100, 0, 100, false, false},
	}
	for _, c := range cases {
		s, l, p, err := parseRange(c.h, c.size)
		if (err != nil) != c.bad || (!c.bad && (s != c.start || l != c.length || p != c.partial)) {
			t.Errorf("parseRange(%q, %d) = %d,%d,%v,%v; want %d,%d,%v,bad=%v", c.h, c.size, s, l, p, err, c.start, c.length, c.partial, c.bad)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	cases := map[string]string{
		"report.pdf":   `attachment; filename="report.pdf"`,
		"naïve é.txt":  `attachment; filename="na_ve _.txt"; filename*=UTF-8''na%C3%AFve%20%C3%A9.txt`,
		`a"b\c.txt`:    `attachment; filename="a_b_c.txt"; filename*=UTF-8''a%22b%5Cc.txt`,
		"日本.png":       `attachment; filename="__.png"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.png`,
		"tab\there.md": `attachment; filename="tab_here.md"; filename*=UTF-8''tab%09here.md`,
	}
	for name, want := range cases {
		if got := ContentDisposition("attachment", name); got != want {
			t.Errorf("ContentDisposition(%q) = %s, want %s", name, got, want)
		}
	}
}

func TestSigner(t *testing.T) {
	s := NewSigner("secret")
	b := uuid.New()
	now := time.Now()
	q := s.Sign("PUT", b, "o.bin", now.Add(time.Hour))
	exp, sig := q.Get(QueryExpires), q.Get(QuerySignature)
	if !s.Verify("PUT", b, "o.bin", exp, sig, now) {
		t.Fatal("valid signature refused")
	}
	flip := []byte(sig)
	flip[0] ^= 1
	for name, ok := range map[string]bool{
		"other method":   s.Verify("GET", b, "o.bin", exp, sig, now),
		"other bucket":   s.Verify("PUT", uuid.New(), "o.bin", exp, sig, now),
		"other object":   s.Verify("PUT", b, "p.bin", exp, sig, now),
		"other expiry":   s.Verify("PUT", b, "o.bin", exp+"0", sig, now),
		"tampered":       s.Verify("PUT", b, "o.bin", exp, string(flip), now),
		"expired":        s.Verify("PUT", b, "o.bin", exp, sig, now.Add(2*time.Hour)),
		"other secret":   NewSigner("other").Verify("PUT", b, "o.bin", exp, sig, now),
		"empty":          s.Verify("PUT", b, "o.bin", "", "", now),
		"not hex":        s.Verify("PUT", b, "o.bin", exp, "zz", now),
		"expiry garbage": s.Verify("PUT", b, "o.bin", "soon", sig, now),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

func newStore(t *testing.T) *DiskStore {
	t.Helper()
	s, err := NewDiskStore(filepath.Join(t.TempDir(), "root"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDiskStorePut(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	b := uuid.New()
	got, err := s.Put(ctx, b, "a.txt", strings.NewReader("hello"), 5)
	if err != nil || got.Size != 5 || got.SHA256 != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("Put = %+v, %v", got, err)
	}
	if _, err := s.Put(ctx, b, "a.txt", strings.NewReader("other"), 5); !errors.Is(err, ErrObjectExists) {
		t.Errorf("overwrite: %v, want ErrObjectExists", err)
	}
	if _, err := s.Put(ctx, b, "big.txt", strings.NewReader("123456"), 5); !errors.Is(err, ErrObjectTooLarge) {
		t.Errorf("too large: %v", err)
	}
	if _, err := s.Put(ctx, b, "../x", strings.NewReader("x"), 5); !errors.Is(err, ErrBadName) {
		t.Errorf("traversal: %v", err)
	}
	var re *ReadError
	if _, err := s.Put(ctx, b, "r.txt", io.MultiReader(strings.NewReader("ab"), errReader{}), 5); !errors.As(err, &re) {
		t.Errorf("read failure: %v, want ReadError", err)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Root(), b.String()))
	if len(entries) != 1 || entries[0].Name() != "a.txt" {
		t.Errorf("bucket dir holds %v, want only a.txt", entries)
	}
	o, err := s.Open(ctx, b, "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := o.ReadAt(buf, 1); err != nil || string(buf) != "ell" || o.Size() != 5 {
		t.Errorf("ReadAt = %q, %v", buf, err)
	}
	o.Close()
	if _, err := s.Open(ctx, b, "missing"); !errors.Is(err, ErrObjectMissing) {
		t.Errorf("Open missing: %v", err)
	}
	if err := s.Delete(ctx, b, "a.txt"); err != nil {
		t.Error(err)
	}
	if err := s.Delete(ctx, b, "a.txt"); err != nil {
		t.Errorf("second delete: %v", err)
	}
	if err := s.DeleteBucket(ctx, b); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), b.String())); !os.IsNotExist(err) {
		t.Error("bucket dir survived DeleteBucket")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestStorageErrorsMapToContract(t *testing.T) {
	s := &Service{}
	cases := []struct {
		err    error
		status int
	}{
		{diskErr(&os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}), http.StatusInsufficientStorage},
		{diskErr(&os.PathError{Op: "write", Path: "x", Err: syscall.EDQUOT}), http.StatusInsufficientStorage},
		{diskErr(&os.PathError{Op: "open", Path: "x", Err: syscall.EACCES}), http.StatusServiceUnavailable},
		{diskErr(&os.PathError{Op: "mkdir", Path: "x", Err: syscall.ENOTDIR}), http.StatusServiceUnavailable},
		{diskErr(&os.PathError{Op: "open", Path: "x", Err: syscall.EROFS}), http.StatusServiceUnavailable},
		{&ReadError{Err: io.ErrUnexpectedEOF}, http.StatusBadRequest},
		{ErrObjectExists, http.StatusConflict},
		{ErrObjectTooLarge, http.StatusRequestEntityTooLarge},
		{ErrBadName, http.StatusBadRequest},
		{errors.New("mystery"), http.StatusInternalServerError},
	}
	for _, c := range cases {
		if got := apperr.From(s.putErr(c.err)).Kind.Status(); got != c.status {
			t.Errorf("%v → %d, want %d", c.err, got, c.status)
		}
	}
}

func TestNewDiskStoreRefusesAFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDiskStore(p); err == nil || !strings.Contains(err.Error(), "STORAGE_PATH") {
		t.Errorf("NewDiskStore(file) = %v", err)
	}
}

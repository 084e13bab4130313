package files_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/files"
	"github.com/selfdb/selfdb/platform/testkit"
)

// rowStatus is the file's status as its owner sees it.
func (e *env) rowStatus(t *testing.T, u upload) string {
	t.Helper()
	return e.info(t, e.su.Token, u.ID)["file_metadata"].(map[string]any)["status"].(string)
}

// bucketDirEntries lists what a bucket's directory holds.
func (e *env) bucketDirEntries(t *testing.T, bucketID string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.storage(), bucketID))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		out = append(out, en.Name())
	}
	return out
}

func TestTraversalNames(t *testing.T) {
	t.Parallel()
	e := start(t)
	u := e.initiate(t, e.alice.Token, e.pub.ID, "x.txt")
	// Both signature forms: the path's last segment and the query of URLs
	// handed out before.
	token := u.Path[strings.LastIndex(u.Path, "/"):]
	query := "?" + files.NewSigner(testkit.SecretKey).Sign("PUT", uuid.MustParse(e.pub.ID), u.Object, time.Now().Add(time.Hour)).Encode()
	payload := []byte("evil")
	for _, p := range []string{
		"/files/upload-direct/" + e.pub.Name + "/..%2F..%2Fescape.txt",
		"/files/upload-direct/" + e.pub.Name + "/%2e%2e",
		"/files/upload-direct/" + e.pub.Name + "/..",
		"/files/upload-direct/%2e%2e/" + u.Object,
		"/files/upload-direct/../" + u.Object,
		"/files/upload-direct/" + e.pub.Name + "/.hidden",
		"/files/upload-direct/" + e.pub.Name + "/a%00b",
		"/files/upload-direct/" + e.pub.Name + "/a%2Fb",
		"/files/upload-direct/" + e.pub.Name + "/" + strings.Repeat("a", 300),
		"/files/upload-direct/" + e.pub.Name + "/a..b",
		"/files/upload-direct/.." + e.pub.Name + "/" + u.Object,
	} {
		for _, signed := range []string{p + token, p + query} {
			if r := e.put(t, signed, payload, nil); r.Status != 400 {
				t.Errorf("PUT %s: %s, want 400", signed, r)
			}
		}
	}
	for _, p := range []string{
		"/files/download/" + e.pub.Name + "/..%2F..%2Fetc%2Fpasswd",
		"/files/download/" + e.pub.Name + "/%2e%2e",
		"/files/view/" + e.pub.Name + "/.hidden",
		"/files/download/" + e.pub.Name + "/a%00b",
		"/files/list/%2e%2e",
	} {
		if r := e.Do(t, noKeyGet(p, nil)); r.Status != 400 {
			t.Errorf("GET %s: %s, want 400", p, r)
		}
	}
	e.checkNoStrays(t)
	if got := e.bucketDirEntries(t, e.pub.ID); len(got) != 0 {
		t.Errorf("bucket directory holds %v", got)
	}
	// The genuine URL still works afterwards.
	e.put(t, u.Path, payload, nil).Expect(t, 201)
}

func TestUploadTooLarge(t *testing.T) {
	t.Parallel()
	e := start(t, "MAX_UPLOAD_BYTES", "1000")
	big := randomBytes(t, 5000)

	raw := e.initiate(t, e.alice.Token, e.pub.ID, "big.bin")
	e.put(t, raw.Path, big, nil).Expect(t, 413)
	mp := e.initiate(t, e.alice.Token, e.pub.ID, "big2.bin")
	e.put(t, mp.Path, testkit.Multipart{FileName: "big2.bin", File: big}, nil).Expect(t, 413)

	// Without Content-Length (chunked) the limit is enforced while streaming.
	ch := e.initiate(t, e.alice.Token, e.pub.ID, "big3.bin")
	req, _ := http.NewRequest(http.MethodPut, e.URL()+ch.Path, io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(string(body), "file_too_large") {
		t.Errorf("chunked over limit: %d %s", resp.StatusCode, body)
	}
	http.DefaultClient.CloseIdleConnections()

	for _, u := range []upload{raw, mp, ch} {
		if s := e.rowStatus(t, u); s != "pending" {
			t.Errorf("row %s after 413", s)
		}
		if exists(e.objectPath(e.pub.ID, u.Object)) {
			t.Error("object left after 413")
		}
	}
	e.checkNoStrays(t)
	// Exactly the limit is fine, raw or as a multipart file field.
	e.put(t, raw.Path, big[:1000], nil).Expect(t, 201)
	e.put(t, mp.Path, testkit.Multipart{Fields: map[string]string{"a": "b"}, FileName: "big2.bin", File: big[:1000]}, nil).Expect(t, 201)
	sameBytes(t, e.Do(t, noKeyGet("/files/download/"+e.pub.Name+"/"+mp.Object, nil)).Expect(t, 200).Body, big[:1000])
}

func TestClientDisconnectMidUpload(t *testing.T) {
	t.Parallel()
	e := start(t)
	u := e.initiate(t, e.alice.Token, e.pub.ID, "partial.bin")
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: selfdb.test\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", u.Path, 4<<20)
	if _, err := conn.Write(randomBytes(t, 256<<10)); err != nil {
		t.Fatal(err)
	}
	// Let the server start streaming to disk, then vanish.
	deadline := time.Now().Add(5 * time.Second)
	for len(e.bucketDirEntries(t, e.pub.ID)) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(e.bucketDirEntries(t, e.pub.ID)) == 0 {
		t.Fatal("upload never reached the disk")
	}
	conn.Close()
	for len(e.bucketDirEntries(t, e.pub.ID)) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := e.bucketDirEntries(t, e.pub.ID); len(got) != 0 {
		t.Fatalf("left behind after disconnect: %v", got)
	}
	if s := e.rowStatus(t, u); s != "pending" {
		t.Errorf("row %s after disconnect, want pending", s)
	}
	// The URL is still good for a complete upload.
	e.put(t, u.Path, []byte("complete"), nil).Expect(t, 201)
}

func TestUnwritableStorage(t *testing.T) {
	t.Parallel()
	e := start(t)
	u := e.initiate(t, e.alice.Token, e.pub.ID, "x.bin")
	dir := filepath.Join(e.storage(), e.pub.ID)
	// chmod does not stop root, so the bucket's directory is made a plain
	// file: every write below it fails (ENOTDIR) for root and others alike.
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.put(t, u.Path, randomBytes(t, 64<<10), nil)
	if r.Status != 503 || !strings.Contains(string(r.Body), `"code":"storage_unavailable"`) || r.Header.Get("Retry-After") == "" {
		t.Fatalf("upload to unwritable storage: %s", r)
	}
	if s := e.rowStatus(t, u); s != "pending" {
		t.Errorf("row %s, want pending", s)
	}
	// The server keeps serving.
	e.Get(t, "/api/v1/buckets", e.alice.Token).Expect(t, 200)
	if b, _ := os.ReadFile(dir); string(b) != "not a directory" {
		t.Error("the blocking file was changed")
	}
	// Once the disk is fixed the same URL works.
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	e.put(t, u.Path, []byte("ok"), nil).Expect(t, 201)

	if os.Geteuid() != 0 {
		// As an ordinary user a read-only directory must fail the same way.
		v := e.initiate(t, e.alice.Token, e.pub.ID, "y.bin")
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o750)
		e.put(t, v.Path, []byte("data"), nil).Expect(t, 503)
		e.Get(t, "/api/v1/buckets", "").Expect(t, 200)
	}
	e.checkNoStrays(t)
}

func TestBucketDeleteRemovesBytes(t *testing.T) {
	t.Parallel()
	e := start(t)
	a := e.uploadFile(t, e.alice.Token, e.priv.ID, "a.txt", []byte("aaa"))
	b := e.uploadFile(t, e.su.Token, e.priv.ID, "b.txt", []byte("bbb"))
	e.info(t, e.alice.Token, a.ID) // cached now
	if !exists(filepath.Join(e.storage(), e.priv.ID)) {
		t.Fatal("no bucket directory")
	}
	e.Do(t, testkit.Req{Method: "DELETE", Path: "/api/v1/buckets/" + e.priv.ID, Token: e.alice.Token}).Expect(t, 200)
	if exists(filepath.Join(e.storage(), e.priv.ID)) {
		t.Error("bucket directory survived the delete")
	}
	for _, u := range []upload{a, b} {
		e.Get(t, "/api/v1/files/"+u.ID+"/download-info", e.su.Token).Expect(t, 404)
	}
	e.Do(t, noKeyGet("/files/download/"+e.priv.ID+"/"+a.ID, map[string]string{"Authorization": "Bearer " + e.su.Token})).Expect(t, 404)
}

func TestUserDeleteRemovesData(t *testing.T) {
	t.Parallel()
	e := start(t)
	carol := e.newUser(t, "carol")
	own := e.bucket(t, carol.Token, "carol", false)
	inOwn := e.uploadFile(t, carol.Token, own.ID, "mine.txt", []byte("mine"))
	inAlice := e.uploadFile(t, carol.Token, e.pub.ID, "shared.txt", []byte("shared"))
	alices := e.uploadFile(t, e.alice.Token, e.pub.ID, "alice.txt", []byte("alice"))

	e.Do(t, testkit.Req{Method: "DELETE", Path: "/api/v1/users/" + carol.ID, Token: e.su.Token}).Expect(t, 200)

	e.Get(t, "/api/v1/buckets/"+own.ID, e.su.Token).Expect(t, 404)
	if exists(filepath.Join(e.storage(), own.ID)) {
		t.Error("deleted user's bucket directory survived")
	}
	for _, u := range []upload{inOwn, inAlice} {
		e.Get(t, "/api/v1/files/"+u.ID+"/download-info", e.su.Token).Expect(t, 404)
	}
	if exists(e.objectPath(e.pub.ID, inAlice.Object)) {
		t.Error("deleted user's file in another bucket kept its bytes")
	}
	// Other users' data is untouched.
	sameBytes(t, e.Do(t, noKeyGet("/files/download/"+e.pub.Name+"/"+alices.Object, nil)).Expect(t, 200).Body, []byte("alice"))
}

// TestCleanup is not parallel: Cleanup with a far-future now deletes every
// expired pending row in the package database.
func TestCleanup(t *testing.T) {
	e := start(t)
	pending := e.initiate(t, e.alice.Token, e.pub.ID, "never.bin")
	done := e.uploadFile(t, e.alice.Token, e.pub.ID, "done.bin", []byte("kept"))
	// A crash after an upload's rename leaves bytes under a pending row.
	stuck := e.initiate(t, e.alice.Token, e.pub.ID, "stuck.bin")
	if err := os.WriteFile(e.objectPath(e.pub.ID, stuck.Object), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	temp := filepath.Join(e.storage(), e.pub.ID, ".upload-123.tmp")
	if err := os.WriteFile(temp, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-3 * time.Hour)
	_ = os.Chtimes(temp, old, old)
	orphan := filepath.Join(e.storage(), "11111111-2222-4333-8444-555555555555")
	if err := os.MkdirAll(orphan, 0o750); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(orphan, "lost.bin"), []byte("lost"), 0o600)

	// Before expiry nothing pending goes.
	if _, err := e.svc.Cleanup(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if e.rowStatus(t, pending) != "pending" {
		t.Error("pending row removed before its URL expired")
	}
	if exists(temp) || exists(orphan) {
		t.Error("stale temp file or orphan bucket directory survived")
	}
	n, err := e.svc.Cleanup(context.Background(), time.Now().Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Errorf("cleanup removed %d, want at least the 2 expired rows", n)
	}
	for _, u := range []upload{pending, stuck} {
		e.Get(t, "/api/v1/files/"+u.ID+"/download-info", e.su.Token).Expect(t, 404)
	}
	if exists(e.objectPath(e.pub.ID, stuck.Object)) {
		t.Error("bytes of an expired pending row survived")
	}
	e.Do(t, noKeyGet("/files/download/"+e.pub.Name+"/"+done.Object, nil)).Expect(t, 200)
	e.put(t, pending.Path, []byte("late"), nil).Expect(t, 404)
}

// fullDisk is a Store whose disk fills up after a few bytes of every upload.
type fullDisk struct{ files.Store }

func (f fullDisk) Put(ctx context.Context, bucketID uuid.UUID, object string, r io.Reader, max int64) (files.Stored, error) {
	_, _ = io.CopyN(io.Discard, r, 1024)
	return files.Stored{}, fmt.Errorf("%w: write: no space left on device", files.ErrNoSpace)
}

func TestDiskFull(t *testing.T) {
	t.Parallel()
	e := startWith(t, []fx.Option{fx.Decorate(func(s files.Store) files.Store { return fullDisk{s} })})
	u := e.initiate(t, e.alice.Token, e.pub.ID, "x.bin")
	r := e.put(t, u.Path, randomBytes(t, 64<<10), nil)
	if r.Status != 507 || !strings.Contains(string(r.Body), `"code":"insufficient_storage"`) {
		t.Fatalf("upload on a full disk: %s", r)
	}
	if s := e.rowStatus(t, u); s != "pending" {
		t.Errorf("row %s, want pending", s)
	}
	e.Get(t, "/api/v1/buckets", "").Expect(t, 200)
}

func TestJanitorRunsInBackground(t *testing.T) {
	t.Parallel()
	e := start(t, "STORAGE_CLEANUP_INTERVAL", "20ms")
	orphan := filepath.Join(e.storage(), "22222222-3333-4444-8555-666666666666")
	if err := os.MkdirAll(orphan, 0o750); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for exists(orphan) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if exists(orphan) {
		t.Error("the janitor did not remove the orphan bucket directory")
	}
}

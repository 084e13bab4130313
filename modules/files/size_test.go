package files_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/selfdb/selfdb/platform/testkit"
)

// initiateSized initiates an upload declaring size, as the JS SDK's upload() does.
func (e *env) initiateSized(t *testing.T, token, bucketID, filename string, size int) upload {
	t.Helper()
	m := e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/files/initiate-upload", Token: token,
		Body: map[string]any{"filename": filename, "bucket_id": bucketID, "size": size}}).Expect(t, 201).Map(t)
	meta := m["file_metadata"].(map[string]any)
	u := m["presigned_upload_info"].(map[string]any)["upload_url"].(string)
	return upload{ID: meta["id"].(string), Object: meta["object_name"].(string), Path: strings.TrimPrefix(u, base), Meta: meta}
}

// putChunked sends body without a Content-Length (chunked), through the real listener.
func (e *env) putChunked(t *testing.T, path string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, e.URL()+path, io.MultiReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A pending file reports the size declared at initiate-upload; a body of
// another length is refused with 400 size_mismatch and stores nothing (the
// row stays pending, no object, no temp file); the declared length uploads
// and the ready file's size is the bytes stored (api.md §5, amended).
func TestDeclaredSize(t *testing.T) {
	t.Parallel()
	e := start(t)
	data := []byte("12345")
	u := e.initiateSized(t, e.alice.Token, e.pub.ID, "five.txt", len(data))
	if u.Meta["size"] != float64(5) || u.Meta["status"] != "pending" {
		t.Fatalf("initiate answered %v, want size 5 and pending", u.Meta)
	}
	undeclared := e.initiate(t, e.alice.Token, e.pub.ID, "any.txt")
	if undeclared.Meta["size"] != float64(0) {
		t.Fatalf("pending size without a declared size: %v, want 0", undeclared.Meta["size"])
	}
	stillPending := func(t *testing.T, r *testkit.Response) {
		t.Helper()
		m := e.info(t, e.su.Token, u.ID)["file_metadata"].(map[string]any)
		if m["status"] != "pending" || m["size"] != float64(5) || m["checksum_sha256"] != nil {
			t.Errorf("row after a refused upload: %v", m)
		}
		if exists(e.objectPath(e.pub.ID, u.Object)) {
			t.Error("object stored by a refused upload")
		}
		e.checkNoStrays(t)
	}
	mismatch := map[string]any{"code": "size_mismatch"}
	testkit.Run(t, e.App, []testkit.Case{
		{Name: "pending row lists the declared size", Req: testkit.Req{Method: "GET", Path: "/api/v1/files/" + u.ID + "/download-info", Token: e.alice.Token},
			Status: 200, Want: map[string]any{"file_metadata": map[string]any{"size": 5, "status": "pending"}}},
		{Name: "short raw body", Req: testkit.Req{Method: "PUT", Path: u.Path, NoKey: true, Body: data[:3]}, Status: 400, Want: mismatch, Check: stillPending},
		{Name: "long raw body", Req: testkit.Req{Method: "PUT", Path: u.Path, NoKey: true, Body: append(data, '6', '7')}, Status: 400, Want: mismatch, Check: stillPending},
		{Name: "empty body", Req: testkit.Req{Method: "PUT", Path: u.Path, NoKey: true, Body: []byte{}}, Status: 400, Want: mismatch, Check: stillPending},
		{Name: "short multipart file", Req: testkit.Req{Method: "PUT", Path: u.Path, NoKey: true, Body: testkit.Multipart{FileName: "five.txt", File: data[:4]}},
			Status: 400, Want: mismatch, Check: stillPending},
		{Name: "long multipart file", Req: testkit.Req{Method: "PUT", Path: u.Path, NoKey: true, Body: testkit.Multipart{FileName: "five.txt", File: []byte("123456")}},
			Status: 400, Want: mismatch, Check: stillPending},
	})
	t.Run("chunked bodies", func(t *testing.T) {
		for _, body := range [][]byte{data[:2], []byte("1234567890")} {
			if status, b := e.putChunked(t, u.Path, body); status != 400 || !strings.Contains(b, "size_mismatch") {
				t.Errorf("chunked %d bytes: %d %s", len(body), status, b)
			}
			stillPending(t, nil)
		}
		http.DefaultClient.CloseIdleConnections()
	})
	testkit.Run(t, e.App, []testkit.Case{
		{Name: "declared length", Req: testkit.Req{Method: "PUT", Path: u.Path, NoKey: true, Body: data}, Status: 201, Want: map[string]any{"size": 5}},
		{Name: "ready file", Req: testkit.Req{Method: "GET", Path: "/api/v1/files/" + u.ID + "/download-info", Token: e.alice.Token}, Status: 200,
			Want: map[string]any{"file_metadata": map[string]any{"size": 5, "status": "ready", "checksum_sha256": sum(data)}}},
		{Name: "undeclared takes any length", Req: testkit.Req{Method: "PUT", Path: undeclared.Path, NoKey: true, Body: []byte("seven b")}, Status: 201, Want: map[string]any{"size": 7}},
	})
	// A declared size as a multipart file part, and a declared 0.
	mp := e.initiateSized(t, e.alice.Token, e.pub.ID, "mp.txt", len(data))
	e.put(t, mp.Path, testkit.Multipart{Fields: map[string]string{"a": "b"}, FileName: "mp.txt", File: data}, nil).Expect(t, 201)
	empty := e.initiateSized(t, e.alice.Token, e.pub.ID, "empty.txt", 0)
	e.put(t, empty.Path, []byte("x"), nil).Expect(t, 400)
	e.put(t, empty.Path, []byte{}, nil).Expect(t, 201)
	if m := e.info(t, e.alice.Token, empty.ID)["file_metadata"].(map[string]any); m["status"] != "ready" || m["size"] != float64(0) {
		t.Errorf("declared-empty file: %v", m)
	}
	e.checkNoStrays(t)
}

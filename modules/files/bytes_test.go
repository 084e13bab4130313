package files_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/selfdb/selfdb/platform/testkit"
)

func TestUploadDownloadRoundTrip(t *testing.T) {
	t.Parallel()
	e := start(t)
	data := randomBytes(t, 300<<10) // past fasthttp's 8 KiB prefetch: the streamed path
	size := strconv.Itoa(len(data))

	raw := e.initiate(t, e.alice.Token, e.pub.ID, "photo.PNG")
	if raw.Meta["status"] != "pending" || raw.Meta["bucket_name"] != e.pub.Name || !strings.HasSuffix(raw.Object, ".PNG") {
		t.Fatalf("initiate metadata %v", raw.Meta)
	}
	r := e.put(t, raw.Path, data, map[string]string{"Content-Type": "application/octet-stream"}).Expect(t, 201)
	if msg := testkit.Match(map[string]any{"filename": "photo.PNG", "bucket_name": e.pub.Name, "size": len(data),
		"content_type": "image/png", "object_name": raw.Object}, anyJSON(t, r)); msg != "" {
		t.Errorf("upload response: %s", msg)
	}
	if !exists(e.objectPath(e.pub.ID, raw.Object)) {
		t.Error("object not at STORAGE_PATH/<bucket_id>/<object>")
	}

	mp := e.initiate(t, e.alice.Token, e.pub.ID, "notes.txt")
	r = e.put(t, mp.Path, testkit.Multipart{Fields: map[string]string{"note": "ignored"}, FileName: "notes.txt", File: data}, nil).Expect(t, 201)
	if got := r.Map(t); got["size"] != float64(len(data)) || strings.HasPrefix(got["content_type"].(string), "multipart/") {
		t.Errorf("multipart upload response %v", got)
	}

	// Metadata after upload: ready, stored size, checksum; bucket stats count both.
	for _, u := range []upload{raw, mp} {
		m := e.info(t, e.alice.Token, u.ID)["file_metadata"].(map[string]any)
		if m["status"] != "ready" || m["size"] != float64(len(data)) || m["checksum_sha256"] != sum(data) {
			t.Errorf("metadata after upload %v", m)
		}
	}
	stats := e.Get(t, "/api/v1/buckets/"+e.pub.ID, "").Expect(t, 200).Map(t)
	if stats["file_count"] != float64(2) || stats["total_size"] != float64(2*len(data)) {
		t.Errorf("stats %v", stats)
	}

	dl := "/files/download/" + e.pub.Name + "/" + raw.Object
	etag := `"` + sum(data) + `"`
	testkit.Run(t, e.App, []testkit.Case{
		{Name: "download raw", Req: noKeyGet(dl, nil), Status: 200,
			WantHeader: map[string]string{"Content-Type": "image/png", "Content-Length": size, "ETag": etag, "Accept-Ranges": "bytes",
				"Content-Disposition": `attachment; filename="photo.PNG"`},
			Check: func(t *testing.T, r *testkit.Response) {
				if sum(r.Body) != sum(data) {
					t.Error("downloaded bytes differ")
				}
				if r.Header.Get("Last-Modified") == "" {
					t.Error("no Last-Modified")
				}
			}},
		{Name: "download multipart upload", Req: noKeyGet("/files/download/"+e.pub.Name+"/"+mp.Object, nil), Status: 200,
			WantHeader: map[string]string{"Content-Type": "text/plain; charset=utf-8"},
			Check:      func(t *testing.T, r *testkit.Response) { sameBytes(t, r.Body, data) }},
		{Name: "download by ids", Req: noKeyGet("/files/download/"+e.pub.ID+"/"+raw.ID, nil), Status: 200,
			Check: func(t *testing.T, r *testkit.Response) { sameBytes(t, r.Body, data) }},
		{Name: "download by bucket id and object", Req: noKeyGet("/files/download/"+e.pub.ID+"/"+raw.Object, nil), Status: 200},
		{Name: "ids of another bucket", Req: noKeyGet("/files/download/"+e.priv.ID+"/"+raw.ID, nil), Status: 404},
		{Name: "range head", Req: noKeyGet(dl, map[string]string{"Range": "bytes=0-9"}), Status: 206,
			WantHeader: map[string]string{"Content-Range": "bytes 0-9/" + size, "Content-Length": "10"},
			Check:      func(t *testing.T, r *testkit.Response) { sameBytes(t, r.Body, data[:10]) }},
		{Name: "range middle", Req: noKeyGet(dl, map[string]string{"Range": "bytes=100000-100099"}), Status: 206,
			Check: func(t *testing.T, r *testkit.Response) { sameBytes(t, r.Body, data[100000:100100]) }},
		{Name: "range open end", Req: noKeyGet(dl, map[string]string{"Range": "bytes=307000-"}), Status: 206,
			WantHeader: map[string]string{"Content-Range": "bytes 307000-307199/" + size},
			Check:      func(t *testing.T, r *testkit.Response) { sameBytes(t, r.Body, data[307000:]) }},
		{Name: "range suffix", Req: noKeyGet(dl, map[string]string{"Range": "bytes=-5"}), Status: 206,
			Check: func(t *testing.T, r *testkit.Response) { sameBytes(t, r.Body, data[len(data)-5:]) }},
		{Name: "range end past size clamps", Req: noKeyGet(dl, map[string]string{"Range": "bytes=307190-999999999"}), Status: 206,
			Check: func(t *testing.T, r *testkit.Response) { sameBytes(t, r.Body, data[307190:]) }},
		{Name: "range unsatisfiable", Req: noKeyGet(dl, map[string]string{"Range": "bytes=999999999-"}), Status: 416,
			WantHeader: map[string]string{"Content-Range": "bytes */" + size}, Want: map[string]any{"code": "range_not_satisfiable"}},
		{Name: "range backwards ignored", Req: noKeyGet(dl, map[string]string{"Range": "bytes=50-10"}), Status: 200,
			Check: func(t *testing.T, r *testkit.Response) { sameBytes(t, r.Body, data) }},
		{Name: "multiple ranges serve all", Req: noKeyGet(dl, map[string]string{"Range": "bytes=0-1,5-6"}), Status: 200},
		{Name: "signed position ignored, not refused", Req: noKeyGet(dl, map[string]string{"Range": "bytes=+999999999-"}), Status: 200,
			Check: func(t *testing.T, r *testkit.Response) { sameBytes(t, r.Body, data) }},
		{Name: "if-none-match", Req: noKeyGet(dl, map[string]string{"If-None-Match": etag}), Status: 304,
			WantHeader: map[string]string{"ETag": etag},
			Check: func(t *testing.T, r *testkit.Response) {
				if len(r.Body) != 0 {
					t.Error("304 with a body")
				}
			}},
		{Name: "if-none-match other", Req: noKeyGet(dl, map[string]string{"If-None-Match": `"other"`}), Status: 200},
		{Name: "head", Req: testkit.Req{Method: http.MethodHead, Path: dl, NoKey: true}, Status: 200,
			WantHeader: map[string]string{"Content-Length": size, "ETag": etag, "Accept-Ranges": "bytes"},
			Check: func(t *testing.T, r *testkit.Response) {
				if len(r.Body) != 0 {
					t.Error("HEAD with a body")
				}
			}},
		{Name: "view inline public cache", Req: noKeyGet("/files/view/"+e.pub.Name+"/"+raw.Object+"?content_type=image%2Fpng", nil), Status: 200,
			WantHeader: map[string]string{"Content-Disposition": `inline; filename="photo.PNG"`, "Cache-Control": "public, max-age=3600", "Content-Type": "image/png"},
			Check:      func(t *testing.T, r *testkit.Response) { sameBytes(t, r.Body, data) }},
		{Name: "view head", Req: testkit.Req{Method: http.MethodHead, Path: "/files/view/" + e.pub.Name + "/" + raw.Object, NoKey: true}, Status: 200},
		{Name: "second upload conflicts", Req: testkit.Req{Method: "PUT", Path: raw.Path, NoKey: true, Body: []byte("overwrite")}, Status: 409,
			Want: map[string]any{"code": "object_exists"}},
		{Name: "missing object", Req: noKeyGet("/files/download/"+e.pub.Name+"/nope.bin", nil), Status: 404, Want: map[string]any{"detail": "File not found"}},
		{Name: "missing bucket", Req: noKeyGet("/files/download/no-such-bucket/nope.bin", nil), Status: 404, Want: map[string]any{"detail": "Bucket not found"}},
	})
	// The 409 left the stored bytes alone.
	sameBytes(t, e.Do(t, noKeyGet(dl, nil)).Expect(t, 200).Body, data)
	e.checkNoStrays(t)
}

func TestNonASCIIFilename(t *testing.T) {
	t.Parallel()
	e := start(t)
	u := e.uploadFile(t, e.alice.Token, e.pub.ID, `résumé "final".pdf`, []byte("%PDF-1.4"))
	r := e.Do(t, noKeyGet("/files/download/"+e.pub.Name+"/"+u.Object, nil)).Expect(t, 200)
	want := `attachment; filename="r_sum_ _final_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf`
	if got := r.Header.Get("Content-Disposition"); got != want {
		t.Errorf("Content-Disposition = %s, want %s", got, want)
	}
	if r.Header.Get("Content-Type") != "application/pdf" {
		t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
	}
}

func TestEmptyFile(t *testing.T) {
	t.Parallel()
	e := start(t)
	u := e.uploadFile(t, e.alice.Token, e.pub.ID, "empty.txt", []byte{})
	e.Do(t, noKeyGet("/files/download/"+e.pub.Name+"/"+u.Object, nil)).Expect(t, 200)
	e.Do(t, noKeyGet("/files/download/"+e.pub.Name+"/"+u.Object, map[string]string{"Range": "bytes=0-"})).Expect(t, 416)
}

func sameBytes(t *testing.T, got, want []byte) {
	t.Helper()
	if sum(got) != sum(want) {
		t.Errorf("body: %d bytes (sha %s), want %d bytes (sha %s)", len(got), sum(got)[:12], len(want), sum(want)[:12])
	}
}

func anyJSON(t *testing.T, r *testkit.Response) any {
	t.Helper()
	var v any
	r.JSON(t, &v)
	return v
}

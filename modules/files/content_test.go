package files_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/selfdb/selfdb/platform/testkit"
)

// uploadTyped initiates with a declared content type (nil: none) and uploads
// data with the Content-Type header put.
func (e *env) uploadTyped(t *testing.T, bucketID, filename string, declared *string, put string, data []byte) upload {
	t.Helper()
	body := map[string]any{"filename": filename, "bucket_id": bucketID}
	if declared != nil {
		body["content_type"] = *declared
	}
	m := e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/files/initiate-upload", Token: e.alice.Token, Body: body}).Expect(t, 201).Map(t)
	meta := m["file_metadata"].(map[string]any)
	u := upload{ID: meta["id"].(string), Object: meta["object_name"].(string),
		Path: strings.TrimPrefix(m["presigned_upload_info"].(map[string]any)["upload_url"].(string), base), Meta: meta}
	var h map[string]string
	if put != "" {
		h = map[string]string{"Content-Type": put}
	}
	e.put(t, u.Path, data, h).Expect(t, 201)
	return u
}

// viewURL is the path and query of a file's view-info URL, checked to start with want.
func (e *env) viewURL(t *testing.T, id, want string) string {
	t.Helper()
	v := e.Get(t, "/api/v1/files/"+id+"/view-info", e.alice.Token).Expect(t, 200).Map(t)["view_url"].(string)
	if !strings.HasPrefix(v, want+"/files/view/") {
		t.Fatalf("view_url %s, want it under %s", v, want)
	}
	return strings.TrimPrefix(v, want)
}

// byteRequests are every shape of request a byte route answers with the
// file: GET, HEAD, a range (206) and a revalidation (304), for path.
func byteRequests(path, etag string) map[string]testkit.Req {
	return map[string]testkit.Req{
		"GET":   noKeyGet(path, nil),
		"HEAD":  {Method: http.MethodHead, Path: path, NoKey: true},
		"range": noKeyGet(path, map[string]string{"Range": "bytes=0-3"}),
		"304":   noKeyGet(path, map[string]string{"If-None-Match": etag}),
	}
}

// checkUserContent sends every byte request for path and checks the headers
// that keep user content from scripting the API's origin.
func (e *env) checkUserContent(t *testing.T, path, etag, disposition string) {
	t.Helper()
	want := map[string]int{"GET": 200, "HEAD": 200, "range": 206, "304": 304}
	for name, req := range byteRequests(path, etag) {
		r := e.Do(t, req)
		if r.Status != want[name] {
			t.Errorf("%s %s: %s", name, path, r)
			continue
		}
		if got := r.Header.Get("Content-Security-Policy"); got != "sandbox" {
			t.Errorf("%s %s: Content-Security-Policy %q, want sandbox", name, path, got)
		}
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s: X-Content-Type-Options %q", name, path, got)
		}
		if got := r.Header.Get("Content-Disposition"); !strings.HasPrefix(got, disposition+";") {
			t.Errorf("%s %s: Content-Disposition %q, want %s", name, path, got, disposition)
		}
	}
}

const page = `<html><script>fetch("/api/v1/users/me")</script></html>`

// Without FILES_PUBLIC_URL the byte routes share the API's origin: every
// response is sandboxed, and active files are attachments even on the view
// route, whatever type they were declared or uploaded with.
func TestActiveContentStaysOffTheAPIOrigin(t *testing.T) {
	t.Parallel()
	e := start(t)
	upper, list, svg := "TEXT/HTML; Charset=UTF-8", "text/plain, text/html", "image/svg+xml"
	files := []struct {
		name     string
		u        upload
		inline   bool
		wantType string
	}{
		{"html by extension", e.uploadTyped(t, e.pub.ID, "page.html", nil, "", []byte(page)), false, "text/html; charset=utf-8"},
		{"html by upload header", e.uploadTyped(t, e.pub.ID, "page.bin", nil, "text/html", []byte(page)), false, "text/html"},
		{"html declared in capitals", e.uploadTyped(t, e.pub.ID, "page.txt", &upper, "", []byte(page)), false, "text/html; charset=UTF-8"},
		{"type list a browser reads as html", e.uploadTyped(t, e.pub.ID, "page2.txt", &list, "", []byte(page)), true, "application/octet-stream"},
		{"svg", e.uploadTyped(t, e.pub.ID, "logo.svg", &svg, "", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)), false, "image/svg+xml"},
		{"xhtml", e.uploadTyped(t, e.pub.ID, "page.xhtml", nil, "application/xhtml+xml", []byte(page)), false, "application/xhtml+xml"},
		{"xml", e.uploadTyped(t, e.pub.ID, "data.xml", nil, "text/xml", []byte("<a/>")), false, "text/xml"},
		{"javascript", e.uploadTyped(t, e.pub.ID, "app.js", nil, "application/javascript", []byte("alert(1)")), false, "application/javascript"},
		{"png", e.uploadTyped(t, e.pub.ID, "pic.png", nil, "image/png", []byte("\x89PNG\r\n\x1a\nrest")), true, "image/png"},
		{"pdf", e.uploadTyped(t, e.pub.ID, "doc.pdf", nil, "application/pdf", []byte("%PDF-1.4 rest")), true, "application/pdf"},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			etag := `"` + e.info(t, e.alice.Token, f.u.ID)["file_metadata"].(map[string]any)["checksum_sha256"].(string) + `"`
			view := e.viewURL(t, f.u.ID, base)
			if got := mustQuery(t, view).Get("content_type"); got != f.wantType {
				t.Errorf("view_url content_type %q, want %q", got, f.wantType)
			}
			r := e.Do(t, noKeyGet(view, nil)).Expect(t, 200)
			if got := r.Header.Get("Content-Type"); got != f.wantType {
				t.Errorf("view Content-Type %q, want %q", got, f.wantType)
			}
			disposition := "attachment"
			if f.inline {
				disposition = "inline"
			}
			e.checkUserContent(t, view, etag, disposition)
			e.checkUserContent(t, "/files/download/"+e.pub.Name+"/"+f.u.Object, etag, "attachment")
			e.checkUserContent(t, "/files/download/"+e.pub.ID+"/"+f.u.ID, etag, "attachment")
		})
	}

	// The view URL's content_type is informative: it cannot make the route
	// serve another type.
	png := files[8].u
	r := e.Do(t, noKeyGet("/files/view/"+e.pub.Name+"/"+png.Object+"?content_type=text%2Fhtml", nil)).Expect(t, 200)
	if r.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "inline;") {
		t.Errorf("content_type=text/html on a PNG: %s / %s", r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
	}

	// A private file through its signed view URL, and errors, are sandboxed too.
	priv := e.uploadTyped(t, e.priv.ID, "secret.html", nil, "", []byte(page))
	view := e.viewURL(t, priv.ID, base)
	r = e.Do(t, noKeyGet(view, nil)).Expect(t, 200)
	if !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment;") || r.Header.Get("Content-Security-Policy") != "sandbox" {
		t.Errorf("private html view: %v", r.Header)
	}
	r = e.Do(t, noKeyGet("/files/view/"+e.pub.Name+"/missing.html", nil)).Expect(t, 404)
	if r.Header.Get("Content-Security-Policy") != "sandbox" {
		t.Errorf("404 of a byte route without the sandbox: %v", r.Header)
	}
}

// With FILES_PUBLIC_URL the links point at the separate origin, where an
// active file may show inline (another origin cannot script the API's), still
// sandboxed; downloads stay attachments and uploads stay on PUBLIC_URL.
func TestFilesPublicURL(t *testing.T) {
	t.Parallel()
	const origin = "https://files.selfdb-content.test"
	e := start(t, "FILES_PUBLIC_URL", origin+"/")
	u := e.uploadTyped(t, e.pub.ID, "page.html", nil, "", []byte(page))
	svg := e.uploadTyped(t, e.priv.ID, "logo.svg", nil, "image/svg+xml", []byte("<svg/>"))
	etag := `"` + e.info(t, e.alice.Token, u.ID)["file_metadata"].(map[string]any)["checksum_sha256"].(string) + `"`

	view := e.viewURL(t, u.ID, origin)
	e.checkUserContent(t, view, etag, "inline")
	if r := e.Do(t, noKeyGet(view, nil)); r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	dl := e.info(t, e.alice.Token, u.ID)["download_url"].(string)
	if !strings.HasPrefix(dl, origin+"/files/download/") {
		t.Errorf("download_url %s", dl)
	}
	e.checkUserContent(t, strings.TrimPrefix(dl, origin), etag, "attachment")
	pub := e.Get(t, "/api/v1/files/public/"+u.ID+"/view-info", "").Expect(t, 200).Map(t)["view_url"].(string)
	if !strings.HasPrefix(pub, origin+"/files/view/") {
		t.Errorf("public view_url %s", pub)
	}
	list := e.Get(t, "/files/list/"+e.pub.Name, e.alice.Token).Expect(t, 200)
	if !strings.Contains(string(list.Body), origin+"/files/download/") {
		t.Errorf("list urls: %s", list.Body)
	}
	// A private file's signed URL works on the files origin.
	sv := e.viewURL(t, svg.ID, origin)
	r := e.Do(t, noKeyGet(sv, nil)).Expect(t, 200)
	if !strings.HasPrefix(r.Header.Get("Content-Disposition"), "inline;") || r.Header.Get("Content-Security-Policy") != "sandbox" {
		t.Errorf("private svg view: %v", r.Header)
	}
	// Uploads still go to the API.
	if p := e.initiate(t, e.alice.Token, e.pub.ID, "x.txt").Path; !strings.HasPrefix(p, "/files/upload-direct/") {
		t.Errorf("upload path %s", p)
	}
}

func mustQuery(t *testing.T, pathAndQuery string) url.Values {
	t.Helper()
	u, err := url.Parse(pathAndQuery)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

package files_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/buckets"
	"github.com/selfdb/selfdb/modules/files"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

const (
	fuzzBoundary  = "fuzzBoundary7MA4YWxk"
	fuzzMaxUpload = 512
)

// expectUpload is what PUT /files/upload-direct must answer for a multipart
// body, judged by reading it with mime/multipart as the handler should: the
// first "file" part, fields before it skipped, a file over MAX_UPLOAD_BYTES
// a 413 (as soon as one byte too many is read), any framing error a 400.
func expectUpload(body []byte) (status int, file []byte) {
	if len(body) > fuzzMaxUpload+64<<10 {
		return 413, nil // the declared length alone is refused
	}
	mr := multipart.NewReader(bytes.NewReader(body), fuzzBoundary)
	for {
		part, err := mr.NextPart()
		if err != nil {
			return 400, nil // missing_file_field at io.EOF, incomplete_upload otherwise
		}
		if part.FormName() != "file" {
			if _, err := io.Copy(io.Discard, io.LimitReader(part, 1<<20)); err != nil {
				return 400, nil
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, fuzzMaxUpload+1))
		switch {
		case len(data) > fuzzMaxUpload:
			return 413, nil
		case err != nil:
			return 400, nil
		}
		return 201, data
	}
}

// FuzzUploadMultipart sends fuzzed multipart bodies (fixed boundary) to PUT
// /files/upload-direct through the in-process app. No body gets a 5xx; the
// status is the one expectUpload judges, and a 201 stored exactly the file
// part's bytes. An upload URL is reused until an upload succeeds, so most
// iterations cost one request and two small queries.
func FuzzUploadMultipart(f *testing.F) {
	part := func(name, extra, data string) string {
		return "--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"" + extra + "\r\n\r\n" + data + "\r\n"
	}
	end := "--" + fuzzBoundary + "--\r\n"
	for _, s := range []string{
		part("file", `; filename="a.txt"`+"\r\nContent-Type: text/plain", "hello") + end,
		part("note", "", "skipped") + part("file", `; filename="b.bin"`, "\x00\x01\r\n--x") + end,
		part("note", "", "no file") + end,
		part("file", "", strings.Repeat("z", fuzzMaxUpload+1)) + end,
		part("file", "", "truncated"),
		part("file", "", "no closing"), "--" + fuzzBoundary + "\r\nbad header line\r\n\r\nx\r\n" + end,
		"", end, "--" + fuzzBoundary, "preamble\r\n" + part("file", "", "x") + end + "epilogue",
		strings.ReplaceAll(part("file", "", "lf only")+end, "\r\n", "\n"),
		"--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"file\"\r\nContent-Type: ;;;\r\n\r\nx\r\n" + end,
		"--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name*=UTF-8''file\r\n\r\nx\r\n" + end,
		"--" + fuzzBoundary + "\r\nX: " + strings.Repeat("h", 11000) + "\r\n\r\nx\r\n" + end,
	} {
		f.Add([]byte(s))
	}

	a := testkit.Start(f, testkit.With(auth.Module, users.Module, buckets.Module, files.Module),
		testkit.Env("MAX_UPLOAD_BYTES", "512"))
	tok := a.Do(f, testkit.Req{Method: "POST", Path: "/api/v1/auth/login",
		Body: map[string]any{"email": "admin@example.com", "password": "adminpassword"}}).Expect(f, 200).Map(f)["access_token"].(string)
	b := a.Do(f, testkit.Req{Method: "POST", Path: "/api/v1/buckets", Token: tok,
		Body: map[string]any{"name": "fuzz-" + uuid.NewString()[:8], "is_public": false}}).Expect(f, 201).Map(f)
	bucketID := b["id"].(string)
	var path, object string // the current upload URL (without the base) and its object
	f.Fuzz(func(t *testing.T, body []byte) {
		if path == "" {
			m := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/files/initiate-upload", Token: tok,
				Body: map[string]any{"filename": "f.bin", "bucket_id": bucketID}}).Expect(t, 201).Map(t)
			object = m["file_metadata"].(map[string]any)["object_name"].(string)
			path = strings.TrimPrefix(m["presigned_upload_info"].(map[string]any)["upload_url"].(string), "http://selfdb.test")
		}
		r := a.Do(t, testkit.Req{Method: "PUT", Path: path, NoKey: true, Body: body,
			Headers: map[string]string{"Content-Type": "multipart/form-data; boundary=" + fuzzBoundary}})
		status, file := expectUpload(body)
		if r.Status != status {
			t.Fatalf("status %d, want %d: %s\nbody %q", r.Status, status, r.Body, body)
		}
		if r.Status != 201 {
			return
		}
		path = "" // used
		stored, err := os.ReadFile(filepath.Join(a.Config.StoragePath, bucketID, object))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(stored, file) || r.Map(t)["size"] != float64(len(file)) {
			t.Fatalf("stored %q (%s), want %q", stored, r.Body, file)
		}
	})
}

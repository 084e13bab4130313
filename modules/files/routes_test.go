package files_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/modules/files"
	"github.com/selfdb/selfdb/platform/testkit"
)

const missingID = "00000000-0000-4000-8000-000000000000"

// signedPath strips the base from an absolute URL.
func signedPath(t *testing.T, u string) string {
	t.Helper()
	if !strings.HasPrefix(u, base+"/files/") {
		t.Fatalf("URL %q does not start with PUBLIC_URL/files/", u)
	}
	return strings.TrimPrefix(u, base)
}

func TestMetadataRoutes(t *testing.T) {
	t.Parallel()
	e := start(t, "MAX_UPLOAD_BYTES", "1000000")
	pubFile := e.uploadFile(t, e.alice.Token, e.pub.ID, "pub.txt", []byte("public bytes"))
	privFile := e.uploadFile(t, e.alice.Token, e.priv.ID, "priv.txt", []byte("private bytes"))
	bobFile := e.uploadFile(t, e.bob.Token, e.pub.ID, "bob.txt", []byte("bob in a public bucket"))
	bobPriv := e.bucket(t, e.bob.Token, "bobpriv", false)
	initiate := func(name, token, bucketID string, extra map[string]any) testkit.Req {
		body := map[string]any{"filename": "f.bin", "bucket_id": bucketID}
		for k, v := range extra {
			body[k] = v
		}
		return testkit.Req{Method: "POST", Path: "/api/v1/files/initiate-upload", Token: token, Body: body}
	}
	di := func(id string) string { return "/api/v1/files/" + id + "/download-info" }
	vi := func(id string) string { return "/api/v1/files/" + id + "/view-info" }
	ids := func(want ...string) func(t *testing.T, r *testkit.Response) {
		return func(t *testing.T, r *testkit.Response) {
			var rows []map[string]any
			r.JSON(t, &rows)
			var got []string
			for _, f := range rows {
				got = append(got, f["id"].(string))
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("ids %v, want %v", got, want)
			}
		}
	}
	unsignedURL := func(kind string, f upload, bucketName string) func(t *testing.T, r *testkit.Response) {
		return func(t *testing.T, r *testkit.Response) {
			m := r.Map(t)
			if want := base + "/files/" + kind + "/" + bucketName + "/" + f.Object; m["download_url"] != want {
				t.Errorf("download_url %v, want %s", m["download_url"], want)
			}
		}
	}
	signed := func(t *testing.T, r *testkit.Response) {
		m := r.Map(t)
		u, err := url.Parse(m["download_url"].(string))
		if err != nil || u.Query().Get("signature") == "" || u.Query().Get("expires") == "" {
			t.Errorf("private download_url %v lacks a signature", m["download_url"])
		}
	}
	fileMeta := map[string]any{"file_metadata": map[string]any{"id": privFile.ID, "filename": "priv.txt", "size": 13, "bucket_id": e.priv.ID,
		"bucket_name": e.priv.Name, "object_name": privFile.Object, "owner_id": e.alice.ID, "content_type": "text/plain; charset=utf-8",
		"status": "ready", "checksum_sha256": sum([]byte("private bytes")), "created_at": testkit.Present, "updated_at": testkit.Present}}

	testkit.Run(t, e.App, []testkit.Case{
		// initiate-upload
		{Name: "initiate anon", Req: initiate("", "", e.pub.ID, nil), Status: 401, WantHeader: map[string]string{"WWW-Authenticate": "Bearer"}},
		{Name: "initiate owner private", Req: initiate("", e.alice.Token, e.priv.ID, map[string]any{"content_type": "application/x-thing", "size": 5}), Status: 201,
			Want: map[string]any{"file_metadata": map[string]any{"status": "pending", "size": 5, "content_type": "application/x-thing", "bucket_id": e.priv.ID, "owner_id": e.alice.ID}}},
		{Name: "initiate other user private", Req: initiate("", e.bob.Token, e.priv.ID, nil), Status: 403,
			Want: map[string]any{"detail": "Permission denied for this bucket"}},
		{Name: "initiate other user public", Req: initiate("", e.bob.Token, e.pub.ID, nil), Status: 201},
		{Name: "initiate superuser private", Req: initiate("", e.su.Token, e.priv.ID, nil), Status: 201},
		{Name: "initiate unknown bucket", Req: initiate("", e.alice.Token, missingID, nil), Status: 404, Want: map[string]any{"detail": "Bucket not found"}},
		{Name: "initiate bad bucket id", Req: initiate("", e.alice.Token, "nope", nil), Status: 422},
		{Name: "initiate missing filename", Req: testkit.Req{Method: "POST", Path: "/api/v1/files/initiate-upload", Token: e.alice.Token, Body: map[string]any{"bucket_id": e.pub.ID}}, Status: 422,
			Want: map[string]any{"detail": []any{map[string]any{"loc": []any{"body", "filename"}}}}},
		{Name: "initiate NUL filename", Req: initiate("", e.alice.Token, e.pub.ID, map[string]any{"filename": "a\x00b"}), Status: 400},
		{Name: "initiate long filename", Req: initiate("", e.alice.Token, e.pub.ID, map[string]any{"filename": strings.Repeat("x", 300)}), Status: 400},
		{Name: "initiate claimed size too big", Req: initiate("", e.alice.Token, e.pub.ID, map[string]any{"size": 2000000}), Status: 413},
		{Name: "initiate negative size", Req: initiate("", e.alice.Token, e.pub.ID, map[string]any{"size": -1}), Status: 422},
		// download-info / view-info
		{Name: "info public anon", Req: testkit.Req{Method: "GET", Path: di(pubFile.ID)}, Status: 200, Check: unsignedURL("download", pubFile, e.pub.Name)},
		{Name: "info private anon", Req: testkit.Req{Method: "GET", Path: di(privFile.ID)}, Status: 401, Want: map[string]any{"detail": "Authentication required"}},
		{Name: "info private other user", Req: testkit.Req{Method: "GET", Path: di(privFile.ID), Token: e.bob.Token}, Status: 403,
			Want: map[string]any{"detail": "Access denied to this file"}},
		{Name: "info private owner", Req: testkit.Req{Method: "GET", Path: di(privFile.ID), Token: e.alice.Token}, Status: 200, Want: fileMeta, Check: signed},
		{Name: "info private superuser", Req: testkit.Req{Method: "GET", Path: di(privFile.ID), Token: e.su.Token}, Status: 200, Check: signed},
		{Name: "info bucket owner sees other's file", Req: testkit.Req{Method: "GET", Path: di(bobFile.ID), Token: e.alice.Token}, Status: 200},
		{Name: "info missing", Req: testkit.Req{Method: "GET", Path: di(missingID), Token: e.su.Token}, Status: 404, Want: map[string]any{"detail": "File not found"}},
		{Name: "info bad id", Req: testkit.Req{Method: "GET", Path: di("x")}, Status: 422},
		{Name: "info no key", Req: testkit.Req{Method: "GET", Path: di(pubFile.ID), NoKey: true}, Status: 401},
		{Name: "view-info public", Req: testkit.Req{Method: "GET", Path: vi(pubFile.ID)}, Status: 200,
			Want: map[string]any{"view_url": base + "/files/view/" + e.pub.Name + "/" + pubFile.Object + "?content_type=text%2Fplain%3B+charset%3Dutf-8"}},
		{Name: "view-info private anon", Req: testkit.Req{Method: "GET", Path: vi(privFile.ID)}, Status: 401},
		{Name: "view-info private other", Req: testkit.Req{Method: "GET", Path: vi(privFile.ID), Token: e.bob.Token}, Status: 403},
		{Name: "view-info private owner", Req: testkit.Req{Method: "GET", Path: vi(privFile.ID), Token: e.alice.Token}, Status: 200,
			Check: func(t *testing.T, r *testkit.Response) {
				if u := r.Map(t)["view_url"].(string); !strings.Contains(u, "content_type=") || !strings.Contains(u, "signature=") {
					t.Errorf("view_url %s", u)
				}
			}},
		{Name: "public download-info", Req: testkit.Req{Method: "GET", Path: "/api/v1/files/public/" + pubFile.ID + "/download-info"}, Status: 200, Check: unsignedURL("download", pubFile, e.pub.Name)},
		{Name: "public download-info of private", Req: testkit.Req{Method: "GET", Path: "/api/v1/files/public/" + privFile.ID + "/download-info", Token: e.su.Token}, Status: 403,
			Want: map[string]any{"detail": "File is not in a public bucket."}},
		{Name: "public view-info", Req: testkit.Req{Method: "GET", Path: "/api/v1/files/public/" + pubFile.ID + "/view-info"}, Status: 200, Want: map[string]any{"view_url": testkit.Present}},
		{Name: "public view-info of private", Req: testkit.Req{Method: "GET", Path: "/api/v1/files/public/" + privFile.ID + "/view-info"}, Status: 403},
		{Name: "public info missing", Req: testkit.Req{Method: "GET", Path: "/api/v1/files/public/" + missingID + "/download-info"}, Status: 404},
		// GET /api/v1/files
		{Name: "list anon", Req: testkit.Req{Method: "GET", Path: "/api/v1/files"}, Status: 401},
		{Name: "list own", Req: testkit.Req{Method: "GET", Path: "/api/v1/files", Token: e.bob.Token}, Status: 200,
			Check: func(t *testing.T, r *testkit.Response) {
				var rows []map[string]any
				r.JSON(t, &rows)
				// bobFile plus the pending upload bob initiated above.
				if len(rows) != 2 || rows[0]["id"] != bobFile.ID || rows[1]["status"] != "pending" {
					t.Errorf("own files %s", r.Body)
				}
				for _, f := range rows {
					if f["owner_id"] != e.bob.ID {
						t.Errorf("listed another user's file %v", f)
					}
				}
			}},
		{Name: "list readable bucket", Req: testkit.Req{Method: "GET", Path: "/api/v1/files?bucket_id=" + e.priv.ID, Token: e.su.Token}, Status: 200},
		{Name: "list other's private bucket", Req: testkit.Req{Method: "GET", Path: "/api/v1/files?bucket_id=" + e.priv.ID, Token: e.bob.Token}, Status: 404,
			Want: map[string]any{"detail": "Bucket not found"}},
		{Name: "list public bucket as other", Req: testkit.Req{Method: "GET", Path: "/api/v1/files?bucket_id=" + e.pub.ID + "&limit=1", Token: e.bob.Token}, Status: 200, Check: ids(pubFile.ID)},
		{Name: "list bad bucket id", Req: testkit.Req{Method: "GET", Path: "/api/v1/files?bucket_id=zz", Token: e.bob.Token}, Status: 422},
		// GET /api/v1/buckets/{id}/files
		{Name: "bucket files public anon", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + e.pub.ID + "/files?limit=2"}, Status: 200, Check: ids(pubFile.ID, bobFile.ID)},
		{Name: "bucket files private anon", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + e.priv.ID + "/files"}, Status: 403, Want: map[string]any{"detail": "This bucket is not public"}},
		{Name: "bucket files private other", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + e.priv.ID + "/files", Token: e.bob.Token}, Status: 403},
		{Name: "bucket files private owner", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + e.priv.ID + "/files?limit=1", Token: e.alice.Token}, Status: 200, Check: ids(privFile.ID)},
		{Name: "bucket files superuser", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + bobPriv.ID + "/files", Token: e.su.Token}, Status: 200, Check: ids()},
		{Name: "bucket files missing", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + missingID + "/files"}, Status: 404},
		{Name: "bucket files bad id", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/x/files"}, Status: 422},
		// DELETE /api/v1/files/{id}
		{Name: "delete anon", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/files/" + privFile.ID}, Status: 401},
		{Name: "delete other user", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/files/" + privFile.ID, Token: e.bob.Token}, Status: 403,
			Want: map[string]any{"detail": "Not enough permissions"}},
		{Name: "delete missing", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/files/" + missingID, Token: e.su.Token}, Status: 404},
		{Name: "delete bad id", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/files/x", Token: e.su.Token}, Status: 422},
		{Name: "delete own", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/files/" + bobFile.ID, Token: e.bob.Token}, Status: 204,
			Check: func(t *testing.T, r *testkit.Response) {
				if exists(e.objectPath(e.pub.ID, bobFile.Object)) {
					t.Error("bytes left after delete")
				}
			}},
		{Name: "delete superuser other's file", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/files/" + privFile.ID, Token: e.su.Token}, Status: 204,
			Check: func(t *testing.T, r *testkit.Response) {
				if exists(e.objectPath(e.priv.ID, privFile.Object)) {
					t.Error("bytes left after superuser delete")
				}
			}},
		{Name: "info after delete (cache invalidated)", Req: testkit.Req{Method: "GET", Path: di(privFile.ID), Token: e.su.Token}, Status: 404},
	})
}

func TestByteRouteAuthorization(t *testing.T) {
	t.Parallel()
	e := start(t)
	data := []byte("secret content")
	priv := e.uploadFile(t, e.alice.Token, e.priv.ID, "s.txt", data)
	pub := e.uploadFile(t, e.alice.Token, e.pub.ID, "p.txt", []byte("open"))
	info := e.info(t, e.alice.Token, priv.ID)
	dl := signedPath(t, info["download_url"].(string))
	viewURL := e.Get(t, "/api/v1/files/"+priv.ID+"/view-info", e.alice.Token).Expect(t, 200).Map(t)["view_url"].(string)
	plain := "/files/download/" + e.priv.Name + "/" + priv.Object
	u, _ := url.Parse(dl)
	q := u.Query()
	q.Set("signature", strings.Repeat("0", 64))
	tampered := plain + "?" + q.Encode()
	privID, _ := uuid.Parse(e.priv.ID)
	signer := files.NewSigner(testkit.SecretKey)
	expired := plain + "?" + signer.Sign("GET", privID, priv.Object, time.Now().Add(-time.Minute)).Encode()
	otherObject := plain + "?" + signer.Sign("GET", privID, "other.txt", time.Now().Add(time.Hour)).Encode()
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	body := func(t *testing.T, r *testkit.Response) { sameBytes(t, r.Body, data) }
	list := func(want int) func(t *testing.T, r *testkit.Response) {
		return func(t *testing.T, r *testkit.Response) {
			var rows []map[string]any
			r.JSON(t, &rows)
			if len(rows) != want {
				t.Fatalf("%d entries, want %d: %s", len(rows), want, r.Body)
			}
			for _, row := range rows {
				for _, k := range []string{"filename", "content_type", "size", "bucket", "url", "created_at"} {
					if _, ok := row[k]; !ok {
						t.Errorf("entry lacks %s: %v", k, row)
					}
				}
			}
		}
	}

	testkit.Run(t, e.App, []testkit.Case{
		{Name: "private no credentials", Req: noKeyGet(plain, nil), Status: 403, Want: map[string]any{"code": "file_access_denied"}},
		{Name: "private signed", Req: noKeyGet(dl, nil), Status: 200, WantHeader: map[string]string{"Cache-Control": "private, max-age=0"}, Check: body},
		{Name: "private signed head", Req: testkit.Req{Method: "HEAD", Path: dl, NoKey: true}, Status: 200},
		{Name: "private signed view", Req: noKeyGet(signedPath(t, viewURL), nil), Status: 200, WantHeader: map[string]string{"Cache-Control": "private, max-age=0"}, Check: body},
		{Name: "private tampered", Req: noKeyGet(tampered, nil), Status: 403, Want: map[string]any{"detail": "Invalid or expired signature", "code": "invalid_signature"}},
		{Name: "private expired", Req: noKeyGet(expired, nil), Status: 403, Want: map[string]any{"code": "invalid_signature"}},
		{Name: "signature for another object", Req: noKeyGet(otherObject, nil), Status: 403},
		{Name: "upload signature cannot download", Req: noKeyGet(plain+"?"+signer.Sign("PUT", privID, priv.Object, time.Now().Add(time.Hour)).Encode(), nil), Status: 403},
		{Name: "private bearer owner", Req: noKeyGet(plain, bearer(e.alice.Token)), Status: 200, Check: body},
		{Name: "private bearer superuser", Req: noKeyGet(plain, bearer(e.su.Token)), Status: 200, Check: body},
		{Name: "private bearer other user", Req: noKeyGet(plain, bearer(e.bob.Token)), Status: 403},
		{Name: "private bearer invalid", Req: noKeyGet(plain, bearer("garbage")), Status: 403},
		{Name: "private by ids bearer owner", Req: noKeyGet("/files/download/"+e.priv.ID+"/"+priv.ID, bearer(e.alice.Token)), Status: 200, Check: body},
		{Name: "private by ids anon", Req: noKeyGet("/files/download/"+e.priv.ID+"/"+priv.ID, nil), Status: 403},
		{Name: "private view anon", Req: noKeyGet("/files/view/"+e.priv.Name+"/"+priv.Object, nil), Status: 403},
		{Name: "public anon", Req: noKeyGet("/files/download/"+e.pub.Name+"/"+pub.Object, nil), Status: 200},
		{Name: "public bearer other user", Req: noKeyGet("/files/download/"+e.pub.Name+"/"+pub.Object, bearer(e.bob.Token)), Status: 200},
		// /files/list/{bucket}
		{Name: "list public by name anon", Req: noKeyGet("/files/list/"+e.pub.Name, nil), Status: 200, Check: list(1)},
		{Name: "list public by id", Req: noKeyGet("/files/list/"+e.pub.ID, nil), Status: 200, Check: list(1)},
		{Name: "list private anon", Req: noKeyGet("/files/list/"+e.priv.Name, nil), Status: 403},
		{Name: "list private other user", Req: noKeyGet("/files/list/"+e.priv.Name, bearer(e.bob.Token)), Status: 403},
		{Name: "list private owner", Req: noKeyGet("/files/list/"+e.priv.Name, bearer(e.alice.Token)), Status: 200,
			Check: func(t *testing.T, r *testkit.Response) {
				list(1)(t, r)
				var rows []map[string]any
				r.JSON(t, &rows)
				// The listed URL works without headers.
				e.Do(t, noKeyGet(signedPath(t, rows[0]["url"].(string)), nil)).Expect(t, 200)
			}},
		{Name: "list private superuser", Req: noKeyGet("/files/list/"+e.priv.ID, bearer(e.su.Token)), Status: 200, Check: list(1)},
		{Name: "list missing bucket", Req: noKeyGet("/files/list/no-such-bucket", nil), Status: 404},
	})

	// Visibility changes apply to bytes at once (bucket cache invalidated).
	e.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/buckets/" + e.pub.ID, Token: e.alice.Token, Body: map[string]any{"is_public": false}}).Expect(t, 200)
	e.Do(t, noKeyGet("/files/download/"+e.pub.Name+"/"+pub.Object, nil)).Expect(t, 403)
	// Renames too: the old name no longer resolves, the new one does.
	e.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/buckets/" + e.priv.ID, Token: e.alice.Token, Body: map[string]any{"name": "renamed-" + e.tag}}).Expect(t, 200)
	e.Do(t, noKeyGet(plain, bearer(e.alice.Token))).Expect(t, 404)
	e.Do(t, noKeyGet("/files/download/renamed-"+e.tag+"/"+priv.Object, bearer(e.alice.Token))).Expect(t, 200)
}

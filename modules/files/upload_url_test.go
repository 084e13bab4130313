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

// The upload URL carries its signature in the path (api.md §5.1, amended):
// a client that keeps only the path of upload_url and drops any query (the
// original admin UI, uploading through its proxy) still uploads; a tampered
// or foreign path signature is 403; URLs signed in the query, handed out
// before, keep working until they expire.
func TestUploadURLSignedInPath(t *testing.T) {
	t.Parallel()
	e := start(t)
	signer := files.NewSigner(testkit.SecretKey)
	pubID := uuid.MustParse(e.pub.ID)
	hour := time.Now().Add(time.Hour)

	ui := e.initiate(t, e.alice.Token, e.pub.ID, "ui.txt")
	full, err := url.Parse(base + ui.Path)
	if err != nil {
		t.Fatal(err)
	}
	if full.RawQuery != "" {
		t.Errorf("upload_url %s still carries a query", ui.Path)
	}
	uiPath := full.Path // what the admin UI keeps
	prefix := "/files/upload-direct/" + e.pub.Name + "/" + ui.Object + "/"
	if !strings.HasPrefix(uiPath, prefix) {
		t.Fatalf("upload path %s, want %s<expires>.<signature>", uiPath, prefix)
	}
	token := strings.TrimPrefix(uiPath, prefix)
	exp, sig, _ := strings.Cut(token, ".")
	flipped := []byte(sig) // one hex digit changed
	if flipped[0] == '0' {
		flipped[0] = '1'
	} else {
		flipped[0] = '0'
	}

	tampered := e.initiate(t, e.alice.Token, e.pub.ID, "t.txt")
	tp := strings.TrimSuffix(tampered.Path, tampered.Path[strings.LastIndex(tampered.Path, "/"):])
	legacy := e.initiate(t, e.alice.Token, e.pub.ID, "legacy.txt")
	legacyURL := "/files/upload-direct/" + e.pub.Name + "/" + legacy.Object + "?" + signer.Sign("PUT", pubID, legacy.Object, hour).Encode()
	expiredLegacy := "/files/upload-direct/" + e.pub.Name + "/" + legacy.Object + "?" + signer.Sign("PUT", pubID, legacy.Object, time.Now().Add(-time.Minute)).Encode()
	denied := map[string]any{"code": "invalid_signature"}
	pending := func(u upload) func(t *testing.T, r *testkit.Response) {
		return func(t *testing.T, r *testkit.Response) {
			if s := e.rowStatus(t, u); s != "pending" {
				t.Errorf("row %s after a refused upload", s)
			}
			if exists(e.objectPath(e.pub.ID, u.Object)) {
				t.Error("object stored by a refused upload")
			}
		}
	}
	put := func(path string, body string) testkit.Req {
		return testkit.Req{Method: "PUT", Path: path, NoKey: true, Body: []byte(body)}
	}

	testkit.Run(t, e.App, []testkit.Case{
		{Name: "tampered path signature", Req: put(tp+"/"+exp+"."+string(flipped), "x"), Status: 403, Want: denied, Check: pending(tampered)},
		{Name: "another upload's signature", Req: put(tp+"/"+token, "x"), Status: 403, Want: denied, Check: pending(tampered)},
		{Name: "expiry changed", Req: put(tp+"/"+"9999999999."+sig, "x"), Status: 403, Want: denied, Check: pending(tampered)},
		{Name: "expired path signature", Req: put(tp+"/"+signer.PathToken("PUT", pubID, tampered.Object, time.Now().Add(-time.Minute)), "x"), Status: 403, Want: denied, Check: pending(tampered)},
		{Name: "download signature in the path", Req: put(tp+"/"+signer.PathToken("GET", pubID, tampered.Object, hour), "x"), Status: 403, Want: denied, Check: pending(tampered)},
		{Name: "malformed token", Req: put(tp+"/nodot", "x"), Status: 403, Want: denied, Check: pending(tampered)},
		{Name: "no signature at all", Req: put(tp, "x"), Status: 403, Want: denied, Check: pending(tampered)},
		{Name: "expired query signature", Req: put(expiredLegacy, "x"), Status: 403, Want: denied, Check: pending(legacy)},
		{Name: "path kept, query dropped", Req: put(uiPath, "from the admin UI"), Status: 201, Want: map[string]any{"size": 17, "object_name": ui.Object}},
		{Name: "path URL works once", Req: put(uiPath, "again"), Status: 409},
		{Name: "query-signed URL handed out before", Req: put(legacyURL, "legacy bytes"), Status: 201, Want: map[string]any{"size": 12}},
	})
	sameBytes(t, e.Do(t, noKeyGet("/files/download/"+e.pub.Name+"/"+ui.Object, nil)).Expect(t, 200).Body, []byte("from the admin UI"))
	e.put(t, tampered.Path, []byte("genuine"), nil).Expect(t, 201)
	e.checkNoStrays(t)
}

package files_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/buckets"
	"github.com/selfdb/selfdb/modules/files"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const base = "http://selfdb.test"

// env is the test app: STORAGE_PATH is a sub-directory of root, so that
// anything written beside it (outside STORAGE_PATH) can be detected.
type env struct {
	*testkit.App
	root           string
	tag            string // makes emails and bucket names unique per test
	svc            *files.Service
	su, alice, bob session
	// pub and priv are alice's public and private buckets.
	pub, priv bucket
}

type session struct{ ID, Token string }

type bucket struct{ ID, Name string }

func start(t *testing.T, kv ...string) *env {
	t.Helper()
	return startWith(t, nil, kv...)
}

// startWith starts the app with extra Fx options (decorators).
func startWith(t *testing.T, extra []fx.Option, kv ...string) *env {
	t.Helper()
	root := t.TempDir()
	e := &env{root: root, tag: strings.ToLower(hex.EncodeToString(randomBytes(t, 3)))}
	kv = append([]string{"STORAGE_PATH", filepath.Join(root, "storage")}, kv...)
	e.App = testkit.Start(t, testkit.With(append([]fx.Option{auth.Module, users.Module, buckets.Module, files.Module, fx.Populate(&e.svc)}, extra...)...), testkit.Env(kv...))
	e.su = e.login(t, "admin@example.com", "adminpassword")
	e.alice = e.newUser(t, "alice")
	e.bob = e.newUser(t, "bob")
	e.pub = e.bucket(t, e.alice.Token, "pub", true)
	e.priv = e.bucket(t, e.alice.Token, "priv", false)
	return e
}

func (e *env) login(t *testing.T, email, password string) session {
	t.Helper()
	m := e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": email, "password": password}}).Expect(t, 200).Map(t)
	tok := m["access_token"].(string)
	me := e.Get(t, "/api/v1/users/me", tok).Expect(t, 200).Map(t)
	return session{ID: me["id"].(string), Token: tok}
}

// newUser registers <name>-<tag>@example.com.
func (e *env) newUser(t *testing.T, name string) session {
	t.Helper()
	email := name + "-" + e.tag + "@example.com"
	e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{"email": email, "password": "password123"}}).Expect(t, 200)
	return e.login(t, email, "password123")
}

// bucket creates <name>-<tag>.
func (e *env) bucket(t *testing.T, token, name string, public bool) bucket {
	t.Helper()
	name += "-" + e.tag
	m := e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/buckets", Token: token, Body: map[string]any{"name": name, "is_public": public}}).Expect(t, 201).Map(t)
	return bucket{ID: m["id"].(string), Name: name}
}

// upload is an initiated upload.
type upload struct {
	ID, Object, Path string // Path: the upload URL without the base
	Meta             map[string]any
}

func (e *env) initiate(t *testing.T, token, bucketID, filename string) upload {
	t.Helper()
	m := e.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/files/initiate-upload", Token: token,
		Body: map[string]any{"filename": filename, "bucket_id": bucketID}}).Expect(t, 201).Map(t)
	meta := m["file_metadata"].(map[string]any)
	info := m["presigned_upload_info"].(map[string]any)
	u := info["upload_url"].(string)
	if !strings.HasPrefix(u, base+"/files/upload-direct/") || info["upload_method"] != "PUT" {
		t.Fatalf("upload info %v", info)
	}
	return upload{ID: meta["id"].(string), Object: meta["object_name"].(string), Path: strings.TrimPrefix(u, base), Meta: meta}
}

// put sends bytes to an upload path with no auth headers, as the JS SDK does.
func (e *env) put(t *testing.T, path string, body any, headers map[string]string) *testkit.Response {
	t.Helper()
	return e.Do(t, testkit.Req{Method: "PUT", Path: path, NoKey: true, Body: body, Headers: headers})
}

// uploadFile initiates and uploads data, returning the upload.
func (e *env) uploadFile(t *testing.T, token, bucketID, filename string, data []byte) upload {
	t.Helper()
	u := e.initiate(t, token, bucketID, filename)
	e.put(t, u.Path, data, nil).Expect(t, 201)
	return u
}

// info is GET download-info as token (or anon).
func (e *env) info(t *testing.T, token, id string) map[string]any {
	t.Helper()
	return e.Get(t, "/api/v1/files/"+id+"/download-info", token).Expect(t, 200).Map(t)
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (e *env) storage() string { return filepath.Join(e.root, "storage") }

// objectPath is where the bytes of an object live.
func (e *env) objectPath(bucketID, object string) string {
	return filepath.Join(e.storage(), bucketID, object)
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// onlyStorage fails when anything besides STORAGE_PATH appeared in root, or
// when a bucket directory holds something other than ready objects.
func (e *env) checkNoStrays(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(e.root)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.Name() != "storage" {
			t.Errorf("%q written outside STORAGE_PATH", en.Name())
		}
	}
	_ = filepath.Walk(e.storage(), func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(info.Name(), ".upload-") {
			t.Errorf("temp file left behind: %s", p)
		}
		return nil
	})
}

func noKeyGet(path string, headers map[string]string) testkit.Req {
	return testkit.Req{Method: http.MethodGet, Path: path, NoKey: true, Headers: headers}
}

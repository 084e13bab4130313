package buckets_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/selfdb/selfdb/platform/testkit"
)

const (
	authDetail = "Authentication with user credentials required for this endpoint"
	dupDetail  = "Bucket with this name already exists"
	nameDetail = "Bucket name must contain only letters, numbers, and hyphens"
)

// names returns the sorted bucket names of a list response.
func names(t *testing.T, r *testkit.Response) []string {
	t.Helper()
	var rows []map[string]any
	r.JSON(t, &rows)
	out := make([]string, 0, len(rows))
	for _, b := range rows {
		if _, ok := b["file_count"]; !ok {
			t.Errorf("bucket %v lacks file_count", b["name"])
		}
		if _, ok := b["total_size"]; !ok {
			t.Errorf("bucket %v lacks total_size", b["name"])
		}
		out = append(out, b["name"].(string))
	}
	sort.Strings(out)
	return out
}

func wantNames(want ...string) func(t *testing.T, r *testkit.Response) {
	return func(t *testing.T, r *testkit.Response) {
		got := strings.Join(names(t, r), ",")
		if w := strings.Join(want, ","); got != w {
			t.Errorf("buckets = [%s], want [%s]", got, w)
		}
	}
}

func TestBucketRoutes(t *testing.T) {
	a := start(t)
	clearBuckets(t, a)
	su := admin(t, a)
	alice := newUser(t, a, "alice@example.com")
	bob := newUser(t, a, "bob@example.com")
	pub := createBucket(t, a, alice.Token, "alice-pub", true)
	priv := createBucket(t, a, alice.Token, "alice-priv", false)
	createBucket(t, a, bob.Token, "bob-priv", false)
	pubID, privID := pub["id"].(string), priv["id"].(string)
	missing := "/api/v1/buckets/00000000-0000-4000-8000-000000000000"

	testkit.Run(t, a, []testkit.Case{
		// GET ""
		{Name: "list anon sees public", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets"}, Status: 200, Check: wantNames("alice-pub")},
		{Name: "list trailing slash", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/"}, Status: 200, Check: wantNames("alice-pub")},
		{Name: "list owner sees own and public", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets", Token: alice.Token}, Status: 200, Check: wantNames("alice-priv", "alice-pub")},
		{Name: "list other user", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets", Token: bob.Token}, Status: 200, Check: wantNames("alice-pub", "bob-priv")},
		{Name: "list superuser sees all", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets", Token: su.Token}, Status: 200, Check: wantNames("alice-priv", "alice-pub", "bob-priv")},
		{Name: "list invalid token is anon", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets", Token: "garbage"}, Status: 200, Check: wantNames("alice-pub")},
		{Name: "list paging", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets?skip=1&limit=1", Token: su.Token}, Status: 200, Check: wantNames("alice-priv")},
		{Name: "list offset alias", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets?offset=2", Token: su.Token}, Status: 200, Check: wantNames("bob-priv")},
		{Name: "list bad limit", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets?limit=abc"}, Status: 422, Want: map[string]any{"code": "validation_failed"}},
		{Name: "list limit too big", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets?limit=5000"}, Status: 422},
		{Name: "list negative skip", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets?skip=-1"}, Status: 422},
		{Name: "list no key", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets", NoKey: true}, Status: 401},
		// GET /public
		{Name: "public anon", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/public"}, Status: 200, Check: wantNames("alice-pub")},
		{Name: "public superuser still public only", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/public", Token: su.Token}, Status: 200, Check: wantNames("alice-pub")},
		// POST
		{Name: "create anon", Req: testkit.Req{Method: "POST", Path: "/api/v1/buckets", Body: map[string]any{"name": "anon-b"}}, Status: 401,
			Want: map[string]any{"detail": authDetail}, WantHeader: map[string]string{"WWW-Authenticate": "Bearer"}},
		{Name: "create", Req: testkit.Req{Method: "POST", Path: "/api/v1/buckets/", Token: bob.Token, Body: map[string]any{"name": "bob.data-1", "description": "d"}}, Status: 201,
			Want: map[string]any{"name": "bob.data-1", "minio_bucket_name": "bob.data-1", "description": "d", "is_public": false, "owner_id": bob.ID,
				"id": testkit.Present, "created_at": testkit.Present, "updated_at": nil, "file_count": testkit.Absent}},
		{Name: "create duplicate", Req: testkit.Req{Method: "POST", Path: "/api/v1/buckets", Token: su.Token, Body: map[string]any{"name": "alice-pub"}}, Status: 400,
			Want: map[string]any{"detail": dupDetail, "code": "bucket_exists"}},
		{Name: "create missing name", Req: testkit.Req{Method: "POST", Path: "/api/v1/buckets", Token: bob.Token, Body: map[string]any{}}, Status: 422,
			Want: map[string]any{"detail": []any{map[string]any{"loc": []any{"body", "name"}}}}},
		{Name: "create bad json", Req: testkit.Req{Method: "POST", Path: "/api/v1/buckets", Token: bob.Token, Body: "{", Headers: map[string]string{"Content-Type": "application/json"}}, Status: 422},
		// GET /{id}
		{Name: "get public anon", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + pubID}, Status: 200,
			Want: map[string]any{"id": pubID, "file_count": 0, "total_size": 0, "minio_bucket_name": "alice-pub"}},
		{Name: "get private anon", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + privID}, Status: 403, Want: map[string]any{"detail": "This bucket is not public"}},
		{Name: "get private other user", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + privID, Token: bob.Token}, Status: 403},
		{Name: "get private owner", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + privID, Token: alice.Token}, Status: 200, Want: map[string]any{"name": "alice-priv"}},
		{Name: "get private superuser", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + privID, Token: su.Token}, Status: 200},
		{Name: "get public other user", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + pubID, Token: bob.Token}, Status: 200},
		{Name: "get missing", Req: testkit.Req{Method: "GET", Path: missing, Token: su.Token}, Status: 404, Want: map[string]any{"detail": "Bucket not found", "code": "bucket_not_found"}},
		{Name: "get bad id", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/nope"}, Status: 422,
			Want: map[string]any{"detail": []any{map[string]any{"loc": []any{"path", "bucket_id"}}}}},
		// PUT
		{Name: "update anon", Req: testkit.Req{Method: "PUT", Path: "/api/v1/buckets/" + pubID, Body: map[string]any{"description": "x"}}, Status: 401},
		{Name: "update other user", Req: testkit.Req{Method: "PUT", Path: "/api/v1/buckets/" + pubID, Token: bob.Token, Body: map[string]any{"description": "x"}}, Status: 403,
			Want: map[string]any{"detail": "Not enough permissions"}},
		{Name: "update owner renames", Req: testkit.Req{Method: "PUT", Path: "/api/v1/buckets/" + pubID, Token: alice.Token, Body: map[string]any{"name": "alice-shared", "description": "hello"}}, Status: 200,
			Want: map[string]any{"name": "alice-shared", "minio_bucket_name": "alice-shared", "description": "hello", "updated_at": testkit.Present}},
		{Name: "get after rename (cache invalidated)", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + pubID}, Status: 200, Want: map[string]any{"name": "alice-shared"}},
		{Name: "update superuser makes private", Req: testkit.Req{Method: "PUT", Path: "/api/v1/buckets/" + pubID, Token: su.Token, Body: map[string]any{"is_public": false}}, Status: 200,
			Want: map[string]any{"is_public": false}},
		{Name: "now private to anon", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + pubID}, Status: 403},
		{Name: "update duplicate name", Req: testkit.Req{Method: "PUT", Path: "/api/v1/buckets/" + pubID, Token: alice.Token, Body: map[string]any{"name": "bob-priv"}}, Status: 400,
			Want: map[string]any{"detail": dupDetail}},
		{Name: "update bad name", Req: testkit.Req{Method: "PUT", Path: "/api/v1/buckets/" + pubID, Token: alice.Token, Body: map[string]any{"name": "../x"}}, Status: 400,
			Want: map[string]any{"detail": nameDetail}},
		{Name: "update missing", Req: testkit.Req{Method: "PUT", Path: missing, Token: su.Token, Body: map[string]any{"name": "zzz"}}, Status: 404},
		{Name: "update bad id", Req: testkit.Req{Method: "PUT", Path: "/api/v1/buckets/1", Token: su.Token, Body: map[string]any{}}, Status: 422},
		// DELETE
		{Name: "delete anon", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/buckets/" + privID}, Status: 401},
		{Name: "delete other user", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/buckets/" + privID, Token: bob.Token}, Status: 403, Want: map[string]any{"detail": "Not enough permissions"}},
		{Name: "delete owner", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/buckets/" + privID, Token: alice.Token}, Status: 200,
			Check: func(t *testing.T, r *testkit.Response) {
				if string(r.Body) != "true" {
					t.Errorf("body %s, want true", r.Body)
				}
			}},
		{Name: "gone after delete", Req: testkit.Req{Method: "GET", Path: "/api/v1/buckets/" + privID, Token: su.Token}, Status: 404},
		{Name: "delete again", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/buckets/" + privID, Token: alice.Token}, Status: 404},
		{Name: "delete superuser", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/buckets/" + pubID, Token: su.Token}, Status: 200},
		{Name: "delete bad id", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/buckets/x", Token: su.Token}, Status: 422},
	})
}

func TestBucketNames(t *testing.T) {
	a := start(t)
	clearBuckets(t, a)
	u := newUser(t, a, "names@example.com")
	bad := []string{"..", "a..b", "a/b", "%2e%2e", ".abc", "abc.", "-abc", "a\x00bc", "ab", "Abc", "a_b", "a b", strings.Repeat("a", 64), "ümlaut"}
	for _, n := range bad {
		r := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/buckets", Token: u.Token, Body: map[string]any{"name": n}})
		if r.Status != 400 || !strings.Contains(string(r.Body), nameDetail) {
			t.Errorf("name %q: %s, want 400 %q", n, r, nameDetail)
		}
	}
	for _, n := range []string{"abc", "a.b-c", "0bucket9", strings.Repeat("a", 63)} {
		a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/buckets", Token: u.Token, Body: map[string]any{"name": n}}).Expect(t, 201)
	}
	// Nothing was created on disk for refused names (or at all: bytes come with uploads).
	entries, err := os.ReadDir(a.Config.StoragePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(a.Config.StoragePath, e.Name())); err == nil && !isUUID(e.Name()) {
			t.Errorf("unexpected entry %q in STORAGE_PATH", e.Name())
		}
	}
}

func isUUID(s string) bool { return len(s) == 36 && strings.Count(s, "-") == 4 }

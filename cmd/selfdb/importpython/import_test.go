package importpython_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/cmd/selfdb/importpython"
	"github.com/selfdb/selfdb/platform/testkit"
)

// The fixture's Python deployment, imported: every user logs in with the
// same password (the deactivated one is refused), ids are kept, every file
// downloads with its SHA-256, every table has its rows with equal values,
// keys hold, sequences continue, Python's own tables stay out of the
// tables API, and sessions survive (refresh tokens; access tokens with
// AUTH_ACCEPT_LEGACY_TOKENS). Then the incremental runs and --verify.
func TestImportFixture(t *testing.T) {
	m := readManifest(t)
	src := restore(t)
	tg := newTarget(t)

	// --dry-run: the plan with counts, nothing written.
	out := tg.mustRun(t, importpython.Options{FromDB: src.dbURL, FromStorage: src.storage, FromFunctions: src.functions, DryRun: true})
	for _, want := range []string{"users           4 new", "refresh tokens  5 new", "buckets         3 new", "files           9 new",
		"bytes to copy: 9 files", "SQL snippets    1 new", "table events    new: 500 rows", "table orders    new: 40 rows",
		"table products  new: 25 rows", "dry run: nothing was written"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q", want)
		}
	}
	if n := count(t, tg.db, "SELECT count(*) FROM selfdb.users"); n != 0 {
		t.Fatalf("the dry run wrote %d users", n)
	}

	out = tg.mustRun(t, src.opts())
	for _, want := range []string{
		"table products: policy secure: read authenticated, insert authenticated, update superuser, delete superuser",
		"bucket bob-public: 3 files", "table events: created, 500 rows copied",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q", want)
		}
	}
	if n := count(t, tg.db, "SELECT count(*) FROM selfdb.change_log WHERE op <> 'DDL' AND table_name NOT LIKE 'selfdb.%'"); n != 0 {
		t.Errorf("imported rows reached the change log (%d changes): they are history, not changes", n)
	}

	a := tg.start(t)
	t.Run("logins", func(t *testing.T) {
		for _, name := range []string{"alice", "bob"} {
			u := m.Users[name]
			r := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Body: testkit.Form{"username": u.Email, "password": u.Password}}).Expect(t, 200)
			if got := r.Map(t)["user_id"]; got != u.ID {
				t.Errorf("%s logged in as %v, want id %s", name, got, u.ID)
			}
		}
		carol := m.Users["carol"]
		r := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Body: testkit.Form{"username": carol.Email, "password": carol.Password}}).Expect(t, 400)
		if !strings.Contains(string(r.Body), "Inactive user") {
			t.Errorf("deactivated carol: %s", r.Body)
		}
		admin := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Body: testkit.Form{"username": m.Admin.Email, "password": m.Admin.Password}}).Expect(t, 200).Map(t)
		if admin["is_superuser"] != true {
			t.Errorf("admin is not a superuser: %v", admin)
		}
	})
	admin := login(t, a, m.Admin.Email, m.Admin.Password)

	t.Run("files", func(t *testing.T) {
		for _, f := range m.Files {
			if got := download(t, a, admin, f.ID); got != f.SHA256 {
				t.Errorf("file %s/%s: sha256 %s, want %s", f.Bucket, f.Filename, got, f.SHA256)
			}
		}
	})

	t.Run("tables", func(t *testing.T) {
		list := a.Get(t, "/api/v1/tables", admin).Expect(t, 200)
		var tabs []struct{ Name string }
		list.JSON(t, &tabs)
		var names []string
		for _, x := range tabs {
			names = append(names, x.Name)
		}
		if want := []string{"events", "orders", "products"}; !slices.Equal(names, want) {
			t.Errorf("GET /api/v1/tables lists %v, want %v (no Python system table)", names, want)
		}
		for table, n := range m.Tables {
			compareRows(t, a, admin, src.db, table, n)
		}
	})

	t.Run("functions", func(t *testing.T) {
		const id = "8296e3b2-c221-4e74-a56f-83517f300db3"
		if strings.Contains(out, "s3cr3t-value") {
			t.Error("the import printed a secret env value")
		}
		fn := a.Get(t, "/api/v1/functions/"+id, admin).Expect(t, 200).Map(t)
		if fn["name"] != "hello-world" || fn["code"] != m.Functions[0].Code || fmt.Sprint(fn["version_number"]) != "1" || fn["is_active"] != true {
			t.Errorf("the imported function: %v", fn)
		}
		var vs []map[string]any
		a.Get(t, "/api/v1/functions/"+id+"/versions", admin).Expect(t, 200).JSON(t, &vs)
		if len(vs) != 1 || vs[0]["code"] != m.Functions[0].Code || fmt.Sprint(vs[0]["version_number"]) != "1" {
			t.Errorf("its versions: %v", vs)
		}
		var env []map[string]any
		a.Get(t, "/api/v1/functions/"+id+"/env", admin).Expect(t, 200).JSON(t, &env)
		got := map[string]string{}
		for _, e := range env {
			got[fmt.Sprint(e["key"])] = fmt.Sprintf("%v/%v", e["value"], e["is_secret"])
		}
		if want := map[string]string{"GREETING": "hi/false", "API_TOKEN": "********/true"}; !reflect.DeepEqual(got, want) {
			t.Errorf("its env vars: %v, want %v", got, want)
		}
		r := invoke(t, a, admin, "hello-world").Expect(t, 200)
		if body := r.Map(t); body["hello"] != "world" || body["n"] != "hi" {
			t.Errorf("invoking it: %s", r.Body)
		}
	})

	t.Run("sessions", func(t *testing.T) {
		alice := m.Users["alice"]
		var refresh string
		if err := src.db.QueryRowContext(context.Background(), `SELECT token FROM public.refresh_tokens WHERE user_id = ? ORDER BY created_at LIMIT 1`, alice.ID).Scan(&refresh); err != nil {
			t.Fatal(err)
		}
		r := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/refresh", NoKey: true, Body: map[string]any{"refresh_token": refresh}}).Expect(t, 200)
		me := a.Get(t, "/api/v1/users/me", r.Map(t)["access_token"].(string)).Expect(t, 200).Map(t)
		if me["id"] != alice.ID {
			t.Errorf("a Python-era refresh token refreshed into %v, want alice", me["id"])
		}

		legacy := pythonToken(t, alice.Email, time.Now().Add(30*time.Minute))
		a.Get(t, "/api/v1/users/me", legacy).Expect(t, 401) // off by default
		on := tg.start(t, "AUTH_ACCEPT_LEGACY_TOKENS", "true")
		me = on.Get(t, "/api/v1/users/me", legacy).Expect(t, 200).Map(t)
		if me["id"] != alice.ID {
			t.Errorf("a Python-era access token resolved to %v, want alice", me["id"])
		}
		on.Get(t, "/api/v1/users/me", legacy).Expect(t, 200) // remembered
		on.Get(t, "/api/v1/users/me", pythonToken(t, m.Users["carol"].Email, time.Now().Add(30*time.Minute))).Expect(t, 401)
		on.Get(t, "/api/v1/users/me", pythonToken(t, alice.Email, time.Now().Add(-time.Minute))).Expect(t, 401)
		on.Get(t, "/api/v1/users/me", pythonToken(t, "nobody@example.org", time.Now().Add(30*time.Minute))).Expect(t, 401)
	})

	// --verify passes after the import.
	verify := src.opts()
	verify.Verify = true
	if out, err := tg.run(t, verify); err != nil || !strings.Contains(out, "9 hashed on both sides") {
		t.Fatalf("verify after the import: %v", err)
	}

	// Second run, after a new user, a new row, a new file, an updated row
	// and a deleted row on the source: exactly those arrive.
	users0 := versions(t, tg.db, "selfdb.users", "id")
	files0 := versions(t, tg.db, "selfdb.files", "id")
	products0 := versions(t, tg.db, "public.products", "id")
	orders0 := versions(t, tg.db, "public.orders", "id")
	events0 := versions(t, tg.db, "public.events", "id")
	const dave = "a1a1a1a1-0000-4000-8000-000000000001"
	const daveFile = "a1a1a1a1-0000-4000-8000-0000000000f1"
	src.exec(t, `INSERT INTO public.users (id, email, hashed_password, is_active, is_superuser, created_at)
SELECT ?, 'dave@example.org', hashed_password, true, false, now() FROM public.users WHERE email = 'bob@example.org'`, dave)
	src.exec(t, `INSERT INTO public.orders (product_id, user_id, qty, note) VALUES ('b55b90b5-5a0d-447b-aea5-f33424fcd8eb', ?, 7, 'ünïcode ✓')`, dave)
	src.exec(t, `UPDATE public.products SET price = 99.99, tags = '{x,"y z"}' WHERE id = 'bfefecf3-c241-498f-a565-e4e1660e8738'`)
	content := bytes.Repeat([]byte("dave's bytes\n"), 1000)
	writeFile(t, filepath.Join(src.storage, "bob-public", "d1d1d1d1-0000-4000-8000-000000000001.txt"), content)
	src.exec(t, `INSERT INTO public.files (id, filename, object_name, bucket_name, content_type, size, owner_id, created_at, bucket_id)
VALUES (?, 'dave.txt', 'd1d1d1d1-0000-4000-8000-000000000001.txt', 'bob-public', 'text/plain', ?, ?, now(), '00a329ba-1c63-46bd-bee5-77fa1796a9ea')`,
		daveFile, len(content), dave)

	src.exec(t, `UPDATE public.function_env_vars SET value = 'hello' WHERE key = 'GREETING'`)
	src.exec(t, `DELETE FROM public.events WHERE id = 7`)

	out = tg.mustRun(t, src.opts())
	for _, want := range []string{"users           1 new, 0 changed", "files           1 new, 0 changed", "table orders: 1 new, 0 changed, 0 deleted rows",
		"table products: 0 new, 1 changed, 0 deleted rows", "table events: 0 new, 0 changed, 1 deleted rows", "env vars 0 new, 1 changed"} {
		if !strings.Contains(out, want) {
			t.Errorf("second run output lacks %q", want)
		}
	}
	for _, c := range []struct {
		what          string
		before, after map[string]string
		want          []string
	}{
		{"users", users0, versions(t, tg.db, "selfdb.users", "id"), []string{dave}},
		{"files", files0, versions(t, tg.db, "selfdb.files", "id"), []string{daveFile}},
		{"products", products0, versions(t, tg.db, "public.products", "id"), []string{"bfefecf3-c241-498f-a565-e4e1660e8738"}},
		{"orders", orders0, versions(t, tg.db, "public.orders", "id"), []string{"41"}},
		{"events", events0, versions(t, tg.db, "public.events", "id"), []string{"-7"}},
	} {
		if got := changedKeys(c.before, c.after); !slices.Equal(got, c.want) {
			t.Errorf("second run wrote %s %v, want exactly %v", c.what, got, c.want)
		}
	}
	a.Sync(t)
	daveTok := login(t, a, "dave@example.org", m.Users["bob"].Password)
	sum := sha256.Sum256(content)
	if got := download(t, a, daveTok, daveFile); got != hex.EncodeToString(sum[:]) {
		t.Errorf("the new file downloads with sha256 %s", got)
	}
	if body := invoke(t, a, admin, "hello-world").Expect(t, 200).Map(t); body["n"] != "hello" {
		t.Errorf("the function after its env var changed on the source: %v", body)
	}
	p := a.Get(t, "/api/v1/tables/products/data?id=eq.bfefecf3-c241-498f-a565-e4e1660e8738", admin).Expect(t, 200).Map(t)
	row := p["data"].([]any)[0].(map[string]any)
	if row["price"] != "99.99" || !reflect.DeepEqual(row["tags"], []any{"x", "y z"}) {
		t.Errorf("the updated product: %v", row)
	}

	// A third run changes nothing.
	logBefore := count(t, tg.db, "SELECT coalesce(max(id), 0) FROM selfdb.change_log")
	all := func() []map[string]string {
		return []map[string]string{versions(t, tg.db, "selfdb.users", "id"), versions(t, tg.db, "selfdb.files", "id"),
			versions(t, tg.db, "selfdb.buckets", "id"), versions(t, tg.db, "selfdb.refresh_tokens", "id"),
			versions(t, tg.db, "public.products", "id"), versions(t, tg.db, "public.orders", "id"), versions(t, tg.db, "public.events", "id")}
	}
	before := all()
	out = tg.mustRun(t, src.opts())
	if !strings.Contains(out, "nothing to import") {
		t.Errorf("third run: %s", out)
	}
	if !reflect.DeepEqual(before, all()) || count(t, tg.db, "SELECT coalesce(max(id), 0) FROM selfdb.change_log") != logBefore {
		t.Error("the third run changed the target")
	}

	// --verify fails, naming the table, after one target row changed; the
	// next import refuses to overwrite that write unless --force.
	if _, err := tg.run(t, verify); err != nil {
		t.Fatalf("verify after the second run: %v", err)
	}
	if _, err := tg.db.ExecContext(context.Background(), `UPDATE public.orders SET qty = 99 WHERE id = 5`); err != nil {
		t.Fatal(err)
	}
	out, err := tg.run(t, verify)
	if !errors.Is(err, importpython.ErrDifferent) || !strings.Contains(out, "table orders: rows differ") || !strings.Contains(out, "id=5 (different)") {
		t.Fatalf("verify after a target row changed: %v", err)
	}
	_, err = tg.run(t, src.opts())
	if err == nil || !strings.Contains(err.Error(), "orders (1 writes)") {
		t.Fatalf("an import over a Go-side write: %v", err)
	}
	o := src.opts()
	o.Force = true
	tg.mustRun(t, o)
	if _, err := tg.run(t, verify); err != nil {
		t.Fatalf("verify after --force: %v", err)
	}

	// Keys hold and the serial continues after the source's last id (41,
	// dave's order).
	row = a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/tables/orders/data", Token: admin,
		Body: map[string]any{"product_id": "b55b90b5-5a0d-447b-aea5-f33424fcd8eb", "qty": 2}}).Expect(t, 200).Map(t)
	if fmt.Sprint(row["id"]) != "42" {
		t.Errorf("a new order got id %v, want 42 (the serial continues)", row["id"])
	}
	r := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/tables/orders/data", Token: admin,
		Body: map[string]any{"product_id": "00000000-0000-4000-8000-000000000000", "qty": 1}})
	if r.Status != 400 && r.Status != 409 && r.Status != 422 {
		t.Errorf("an order of a missing product: %s, want a foreign-key refusal", r)
	}
}

// compareRows checks a table through the API: its row count, and every
// row equal to the source's (numeric as the API's string, timestamps as
// instants, arrays, jsonb and unicode as they are).
func compareRows(t *testing.T, a *testkit.App, token string, src *bun.DB, table string, n int) {
	t.Helper()
	r := a.Get(t, "/api/v1/tables/"+table+"/data?page_size=1000&order_by=id", token).Expect(t, 200)
	var page struct {
		Data     []map[string]any
		Metadata struct {
			TotalCount int `json:"total_count"`
			Columns    []struct {
				Name string `json:"column_name"`
				Type string `json:"data_type"`
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&page); err != nil {
		t.Fatal(err)
	}
	if page.Metadata.TotalCount != n || len(page.Data) != n {
		t.Errorf("table %s: %d rows (%d listed), want %d", table, page.Metadata.TotalCount, len(page.Data), n)
	}
	var doc string
	if err := src.QueryRowContext(context.Background(), "SELECT json_agg(t ORDER BY id)::text FROM public."+table+" t").Scan(&doc); err != nil {
		t.Fatal(err)
	}
	var want []map[string]any
	dec = json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(page.Data) {
		return
	}
	for i, w := range want {
		got := page.Data[i]
		for _, c := range page.Metadata.Columns {
			wv, gv := w[c.Name], got[c.Name]
			switch {
			case c.Type == "numeric" && wv != nil:
				if fmt.Sprint(gv) != string(wv.(json.Number)) {
					t.Errorf("%s row %d: %s = %v, want %v", table, i, c.Name, gv, wv)
				}
			case strings.HasPrefix(c.Type, "timestamp") && wv != nil:
				wt, err1 := time.Parse(time.RFC3339Nano, wv.(string))
				gt, err2 := time.Parse(time.RFC3339Nano, fmt.Sprint(gv))
				if err1 != nil || err2 != nil || !wt.Equal(gt) {
					t.Errorf("%s row %d: %s = %v, want %v", table, i, c.Name, gv, wv)
				}
			default:
				if !reflect.DeepEqual(wv, gv) {
					t.Errorf("%s row %d: %s = %#v, want %#v", table, i, c.Name, gv, wv)
				}
			}
		}
	}
}

// pythonToken signs an access token the way the Python version did: HS256
// with the same SECRET_KEY, sub = the email, exp.
func pythonToken(t *testing.T, email string, exp time.Time) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": email, "exp": exp.Unix()}).SignedString([]byte(testkit.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

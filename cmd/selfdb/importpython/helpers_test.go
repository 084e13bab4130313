package importpython_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/cmd/selfdb/importpython"
	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/buckets"
	"github.com/selfdb/selfdb/modules/files"
	"github.com/selfdb/selfdb/modules/functions"
	"github.com/selfdb/selfdb/modules/sqlconsole"
	"github.com/selfdb/selfdb/modules/tables"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	fixture = "testdata/python-era"
	base    = "http://selfdb.test"
)

// manifest is testdata/python-era/manifest.json: what the Python
// deployment holds, passwords included.
type manifest struct {
	Users map[string]struct {
		Email, Password, ID string
	}
	Admin struct{ Email, Password string }
	Files []struct {
		ID, Bucket, Filename, SHA256, Owner string
		Size                                int64
	}
	Tables    map[string]int
	Functions []struct{ Name, Code string }
}

func readManifest(t *testing.T) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixture, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// psql finds the psql binary (the dump's first line is a psql
// meta-command: it is restored with psql, as pg_dump's output is meant to be).
func psql(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("psql"); err == nil {
		return p
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	sort.Strings(found)
	if len(found) == 0 {
		t.Fatal("psql not found (PATH, /usr/lib/postgresql/*/bin): it restores the Python fixture")
	}
	return found[len(found)-1]
}

// deployment is a Python deployment restored from the fixture: its
// database (a throwaway copy) and its storage and functions directories.
type deployment struct {
	dbURL     string
	db        *bun.DB
	storage   string
	functions string
}

// restore restores the fixture into a new database and unpacks its
// storage directory.
func restore(t *testing.T) *deployment {
	t.Helper()
	d := &deployment{dbURL: testkit.ScratchDatabase(t), storage: filepath.Join(t.TempDir(), "storage"), functions: filepath.Join(fixture, "functions")}
	out, err := exec.Command(psql(t), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-o", os.DevNull, "-d", d.dbURL,
		"-f", filepath.Join(fixture, "database.sql")).CombinedOutput()
	if err != nil {
		t.Fatalf("restoring the fixture: %v\n%s", err, out)
	}
	d.db = testkit.OpenDB(t, d.dbURL)
	// The fixture's refresh tokens expire a month after it was made: keep
	// them valid whenever the test runs.
	d.exec(t, `UPDATE public.refresh_tokens SET expires_at = now() + interval '30 days'`)
	untar(t, filepath.Join(fixture, "storage.tar.gz"), d.storage)
	return d
}

func (d *deployment) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := d.db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// untar unpacks a .tar.gz into dir.
func untar(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// target is the Go server's side: a new database and storage directory.
type target struct {
	dbURL   string
	storage string
	db      *bun.DB
}

func newTarget(t *testing.T) *target {
	t.Helper()
	tg := &target{dbURL: testkit.ScratchDatabase(t), storage: filepath.Join(t.TempDir(), "storage")}
	tg.db = testkit.OpenDB(t, tg.dbURL)
	return tg
}

// env is the server configuration pointing at the target.
func (tg *target) env(t *testing.T, kv ...string) map[string]string {
	e := testkit.TestEnv(t)
	e["DATABASE_URL"] = tg.dbURL
	e["STORAGE_PATH"] = tg.storage
	for i := 0; i+1 < len(kv); i += 2 {
		e[kv[i]] = kv[i+1]
	}
	return e
}

// run runs the command against the target and returns what it printed.
func (tg *target) run(t *testing.T, o importpython.Options) (string, error) {
	t.Helper()
	cfg, err := config.Parse(tg.env(t))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = importpython.Run(context.Background(), cfg, o, &out)
	t.Logf("selfdb import-python (%s):\n%s", describe(o), out.String())
	return out.String(), err
}

func describe(o importpython.Options) string {
	switch {
	case o.Verify:
		return "--verify"
	case o.DryRun:
		return "--dry-run"
	case o.Force:
		return "--force"
	}
	return "import"
}

// mustRun runs the command and fails the test on an error.
func (tg *target) mustRun(t *testing.T, o importpython.Options) string {
	t.Helper()
	out, err := tg.run(t, o)
	if err != nil {
		t.Fatalf("import-python: %v", err)
	}
	return out
}

// opts are the flags for a deployment.
func (d *deployment) opts() importpython.Options {
	return importpython.Options{FromDB: d.dbURL, FromStorage: d.storage, FromFunctions: d.functions}
}

// start starts the Go server on the target. A request's database deadline
// (DB_QUERY_TIMEOUT) covers a login's bcrypt check, and the Python
// version's hashes cost 12: slow under -race on a busy machine, so the
// deadline is generous here.
func (tg *target) start(t *testing.T, kv ...string) *testkit.App {
	t.Helper()
	return testkit.Start(t, testkit.With(auth.Module, users.Module, buckets.Module, files.Module, tables.Module, sqlconsole.Module, functions.Module),
		testkit.Env(append([]string{"DATABASE_URL", tg.dbURL, "STORAGE_PATH", tg.storage, "DENO_PATH", denoPath(t), "DB_QUERY_TIMEOUT", "60s"}, kv...)...))
}

// denoPath is the Deno the functions run on: DENO_PATH, else the copy
// `make test` installs under bin/tools/deno.
func denoPath(t *testing.T) string {
	if p := os.Getenv("DENO_PATH"); p != "" {
		return p
	}
	dir, _ := os.Getwd()
	for range 5 {
		p := filepath.Join(dir, "bin/tools/deno/node_modules/deno/deno")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		dir = filepath.Dir(dir)
	}
	t.Fatal("no Deno: run `make test` (it installs one) or set DENO_PATH")
	return ""
}

// invoke calls a function, waiting (30s at most) while the runtime starts.
func invoke(t *testing.T, a *testkit.App, token, name string) *testkit.Response {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/functions/invoke/" + name, Token: token, Body: map[string]any{}})
		if r.Status != 503 || time.Now().After(deadline) {
			return r
		}
	}
}

// count runs a count query on d.
func count(t *testing.T, d *bun.DB, q string) int {
	t.Helper()
	var n int
	if err := d.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// versions maps each row of a target table to its xmin: a row the run
// rewrote gets a new one.
func versions(t *testing.T, d *bun.DB, table, key string) map[string]string {
	t.Helper()
	rows, err := d.QueryContext(context.Background(), "SELECT "+key+"::text, xmin::text FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, x string
		if err := rows.Scan(&k, &x); err != nil {
			t.Fatal(err)
		}
		out[k] = x
	}
	return out
}

// changedKeys lists the keys that are new or rewritten in after.
func changedKeys(before, after map[string]string) []string {
	var out []string
	for k, x := range after {
		if before[k] != x {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, "-"+k)
		}
	}
	sort.Strings(out)
	return out
}

// login signs in and returns the access token.
func login(t *testing.T, a *testkit.App, email, password string) string {
	t.Helper()
	r := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Body: testkit.Form{"username": email, "password": password}}).Expect(t, 200)
	return r.Map(t)["access_token"].(string)
}

// download fetches a file's bytes through download-info and its URL, and
// returns their SHA-256.
func download(t *testing.T, a *testkit.App, token, id string) string {
	t.Helper()
	info := a.Get(t, "/api/v1/files/"+id+"/download-info", token).Expect(t, 200).Map(t)
	u := info["download_url"].(string)
	if !strings.HasPrefix(u, base) {
		t.Fatalf("download_url %s", u)
	}
	r := a.Do(t, testkit.Req{Method: "GET", Path: strings.TrimPrefix(u, base), NoKey: true}).Expect(t, 200)
	sum := sha256.Sum256(r.Body)
	return hex.EncodeToString(sum[:])
}

// writeFile writes bytes to a path, creating its directory.
func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

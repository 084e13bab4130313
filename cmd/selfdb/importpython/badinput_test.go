package importpython_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/selfdb/selfdb/cmd/selfdb/importpython"
	"github.com/selfdb/selfdb/platform/testkit"
)

// untouched fails the test unless the target holds no SelfDB data (it may
// be migrated).
func untouched(t *testing.T, tg *target) {
	t.Helper()
	var migrated bool
	if err := tg.db.QueryRowContext(context.Background(), "SELECT to_regclass('selfdb.users') IS NOT NULL").Scan(&migrated); err != nil {
		t.Fatal(err)
	}
	if migrated {
		for _, q := range []string{"SELECT count(*) FROM selfdb.users", "SELECT count(*) FROM selfdb.files",
			"SELECT count(*) FROM selfdb.import_python_objects", "SELECT count(*) FROM selfdb.import_python_runs"} {
			if n := count(t, tg.db, q); n != 0 {
				t.Errorf("%s = %d after a refused run", q, n)
			}
		}
	}
	if n := count(t, tg.db, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"); n != 0 {
		t.Errorf("%d tables in public after a refused run", n)
	}
}

// Each bad input is one clear message and nothing imported.
func TestBadInput(t *testing.T) {
	t.Run("unreachable source", func(t *testing.T) {
		tg := newTarget(t)
		url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/python?sslmode=disable", testkit.FreePort(t))
		_, err := tg.run(t, importpython.Options{FromDB: url, Timeout: 500 * time.Millisecond})
		if err == nil || !strings.Contains(err.Error(), "cannot reach the Python database 127.0.0.1:") {
			t.Fatalf("unreachable source: %v", err)
		}
		untouched(t, tg)
	})
	t.Run("not a SelfDB database", func(t *testing.T) {
		tg := newTarget(t)
		other := testkit.ScratchDatabase(t)
		testkit.OpenDB(t, other).ExecContext(context.Background(), `CREATE TABLE public.users (id int PRIMARY KEY, name text)`) //nolint:errcheck
		_, err := tg.run(t, importpython.Options{FromDB: other})
		if err == nil || !strings.Contains(err.Error(), "is not a Python SelfDB database: it lacks a table public.buckets") ||
			!strings.Contains(err.Error(), "public.users.email") {
			t.Fatalf("a database that is not SelfDB's: %v", err)
		}
		untouched(t, tg)
		// The Go server's own database is not a Python one either.
		_, err = tg.run(t, importpython.Options{FromDB: testkit.DatabaseURL()})
		if err == nil || !strings.Contains(err.Error(), "is a Go SelfDB database") {
			t.Fatalf("a Go SelfDB database as the source: %v", err)
		}
	})
	t.Run("target is the Python database", func(t *testing.T) {
		src := restore(t)
		tg := &target{dbURL: src.dbURL, storage: t.TempDir(), db: src.db}
		_, err := tg.run(t, src.opts())
		if err == nil || !strings.Contains(err.Error(), "is a Python SelfDB database: the target must be the Go server's own") {
			t.Fatalf("DATABASE_URL = the Python database: %v", err)
		}
		if n := count(t, src.db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'selfdb'"); n != 0 {
			t.Error("the source was written (migrated)")
		}
	})
	t.Run("another deployment than the one imported before", func(t *testing.T) {
		src, tg := restore(t), newTarget(t)
		tg.mustRun(t, src.opts())
		other := restore(t)
		other.exec(t, `TRUNCATE public.users CASCADE`)
		other.exec(t, `INSERT INTO public.users (id, email, hashed_password, is_active, is_superuser) VALUES (gen_random_uuid(), 'zed@example.org', 'x', true, true)`)
		_, err := tg.run(t, other.opts())
		if err == nil || !strings.Contains(err.Error(), "the source is not the deployment imported before: none of the 4 users imported earlier is in it") {
			t.Fatalf("importing another deployment over the first: %v", err)
		}
		if n := count(t, tg.db, "SELECT count(*) FROM selfdb.users"); n != 4 {
			t.Errorf("%d users after a refused run, want 4", n)
		}
	})
	t.Run("storage directory that does not exist", func(t *testing.T) {
		src, tg := restore(t), newTarget(t)
		o := src.opts()
		o.FromStorage = filepath.Join(t.TempDir(), "nope")
		if _, err := tg.run(t, o); err == nil || !strings.Contains(err.Error(), "--from-storage "+o.FromStorage+": not a directory") {
			t.Fatalf("missing storage directory: %v", err)
		}
		o.FromStorage = ""
		if _, err := tg.run(t, o); err == nil || !strings.Contains(err.Error(), "the source has 9 files: give --from-storage") {
			t.Fatalf("no storage directory: %v", err)
		}
		untouched(t, tg)
	})
	t.Run("functions directory not given", func(t *testing.T) {
		src, tg := restore(t), newTarget(t)
		o := src.opts()
		o.FromFunctions = ""
		_, err := tg.run(t, o)
		if err == nil || !strings.Contains(err.Error(), "function hello-world: its code is not in the Python database (only a placeholder) and no --from-functions was given") {
			t.Fatalf("functions without their code: %v", err)
		}
		untouched(t, tg)
	})
	t.Run("target holds other data under the same ids", func(t *testing.T) {
		src := restore(t)
		m := readManifest(t)
		tg := newTarget(t)
		tg.mustRun(t, dryRun(src)) // migrates
		ctx := context.Background()
		if _, err := tg.db.ExecContext(ctx, `INSERT INTO selfdb.users (id, email, hashed_password) VALUES (?, 'mallory@example.org', 'x')`, m.Users["alice"].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := tg.db.ExecContext(ctx, `CREATE TABLE public.products (id int PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		_, err := tg.run(t, src.opts())
		for _, want := range []string{
			"nothing was imported",
			"the target already has a user with id " + m.Users["alice"].ID + " (mallory@example.org) that the import did not create",
			"the target already has a table public.products that the import did not create",
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("conflicting target: %v\nwant %q", err, want)
			}
		}
		if n := count(t, tg.db, "SELECT count(*) FROM selfdb.users"); n != 1 {
			t.Errorf("%d users after a refused run, want the 1 that was there", n)
		}
		if n := count(t, tg.db, "SELECT count(*) FROM selfdb.import_python_objects"); n != 0 {
			t.Errorf("%d objects recorded after a refused run", n)
		}
		if entries, _ := os.ReadDir(tg.storage); len(entries) != 0 {
			t.Errorf("a refused run wrote bytes: %v", entries)
		}
	})
	t.Run("a Go server started on the target before the import", func(t *testing.T) {
		src, tg := restore(t), newTarget(t)
		tg.mustRun(t, dryRun(src)) // migrates
		a := tg.start(t)           // creates its default superuser, admin@example.com
		a.Stop()                   //nolint:errcheck
		_, err := tg.run(t, src.opts())
		if err == nil || !strings.Contains(err.Error(), "the target already has a user admin@example.com") {
			t.Fatalf("a bootstrap admin in the way: %v", err)
		}
	})
}

// A file whose bytes are missing from the storage directory is reported
// and imported as pending, never ready; everything else is imported. When
// its bytes appear, the next run makes it ready.
func TestMissingFileBytes(t *testing.T) {
	m := readManifest(t)
	src, tg := restore(t), newTarget(t)
	f := m.Files[0] // alice-docs/photo.jpg
	var object string
	if err := src.db.QueryRowContext(context.Background(), "SELECT object_name FROM public.files WHERE id = ?", f.ID).Scan(&object); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(src.storage, f.Bucket, object)
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	out := tg.mustRun(t, src.opts())
	if !strings.Contains(out, "file "+f.ID+" ("+f.Bucket+"/"+f.Filename+"): no bytes at "+path+"; imported as pending") ||
		!strings.Contains(out, "warning: 1 files have no bytes") {
		t.Errorf("the missing file is not reported")
	}
	if n := count(t, tg.db, "SELECT count(*) FROM selfdb.files WHERE status = 'ready'"); n != len(m.Files)-1 {
		t.Errorf("%d ready files, want %d", n, len(m.Files)-1)
	}
	a := tg.start(t)
	alice := login(t, a, m.Users["alice"].Email, m.Users["alice"].Password)
	r := a.Get(t, "/api/v1/files/"+f.ID+"/download-info", alice)
	if r.Status == 200 {
		meta := r.Map(t)["file_metadata"].(map[string]any)
		if meta["status"] != "pending" {
			t.Errorf("the file without bytes shows as %v", meta["status"])
		}
	}
	// --verify does not count it as a difference: both sides lack the bytes.
	if out, err := tg.run(t, verifyOpts(src)); err != nil || !strings.Contains(out, "no bytes at") {
		t.Fatalf("verify with a file missing on both sides: %v", err)
	}

	writeFile(t, path, content)
	out = tg.mustRun(t, src.opts())
	if !strings.Contains(out, "files           0 new, 1 changed") {
		t.Errorf("the file whose bytes appeared is not taken")
	}
	if got := download(t, a, alice, f.ID); got != f.SHA256 {
		t.Errorf("sha256 %s, want %s", got, f.SHA256)
	}

	// Bytes lost on the target (a run's copy removed by a janitor) are
	// copied again by the next run.
	lost := filepath.Join(tg.storage, "8c7bfb1f-5070-461b-851a-0db5361f4e78", object)
	if err := os.Remove(lost); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.run(t, verifyOpts(src)); err == nil {
		t.Error("verify passes with a ready file's bytes missing on the target")
	}
	out = tg.mustRun(t, src.opts())
	if !strings.Contains(out, "ready on the target but its bytes are missing there; copying them again") {
		t.Error("the lost bytes are not reported")
	}
	if got := download(t, a, alice, f.ID); got != f.SHA256 {
		t.Errorf("after the copy again: sha256 %s, want %s", got, f.SHA256)
	}
}

// A run that fails part-way leaves the target as the previous run left it:
// no row of the failed run, no bytes it wrote, the bookkeeping unchanged.
func TestFailedRunChangesNothing(t *testing.T) {
	src, tg := restore(t), newTarget(t)
	tg.mustRun(t, src.opts())
	users0 := versions(t, tg.db, "selfdb.users", "id")
	files0 := versions(t, tg.db, "selfdb.files", "id")
	objects0 := count(t, tg.db, "SELECT count(*) FROM selfdb.import_python_objects")
	log0 := count(t, tg.db, "SELECT coalesce(max(id), 0) FROM selfdb.change_log")

	// New user, file and rows on the source, and a table whose default
	// calls a function of the Python database that is not carried over:
	// creating it fails after users, files and bytes were written.
	src.exec(t, `INSERT INTO public.users (id, email, hashed_password, is_active, is_superuser) VALUES ('b2b2b2b2-0000-4000-8000-000000000001', 'erin@example.org', 'x', true, false)`)
	src.exec(t, `UPDATE public.products SET price = 1 WHERE name = 'Product 3 ✓'`)
	writeFile(t, filepath.Join(src.storage, "alice-docs", "e1e1e1e1-0000-4000-8000-000000000001.bin"), []byte("erin"))
	src.exec(t, `INSERT INTO public.files (id, filename, object_name, bucket_name, size, owner_id, bucket_id)
VALUES ('e1e1e1e1-0000-4000-8000-0000000000f1', 'erin.bin', 'e1e1e1e1-0000-4000-8000-000000000001.bin', 'alice-docs', 4,
  'b2b2b2b2-0000-4000-8000-000000000001', '8c7bfb1f-5070-461b-851a-0db5361f4e78')`)
	src.exec(t, `CREATE FUNCTION public.next_code() RETURNS text LANGUAGE sql AS $$ SELECT 'c' $$`)
	src.exec(t, `CREATE TABLE public.coupons (code text PRIMARY KEY DEFAULT public.next_code())`)
	src.exec(t, `INSERT INTO public.coupons DEFAULT VALUES`)

	out, err := tg.run(t, src.opts())
	if err == nil || !strings.Contains(err.Error(), "table coupons: creating it") || !strings.Contains(err.Error(), "public.next_code() does not exist") {
		t.Fatalf("a run that fails on a table: %v", err)
	}
	if !strings.Contains(out, "note: function next_code is not carried over") {
		t.Error("the function left out is not named")
	}
	if got := changedKeys(users0, versions(t, tg.db, "selfdb.users", "id")); len(got) != 0 {
		t.Errorf("the failed run left users %v", got)
	}
	if got := changedKeys(files0, versions(t, tg.db, "selfdb.files", "id")); len(got) != 0 {
		t.Errorf("the failed run left files %v", got)
	}
	if _, err := os.Stat(filepath.Join(tg.storage, "8c7bfb1f-5070-461b-851a-0db5361f4e78", "e1e1e1e1-0000-4000-8000-000000000001.bin")); !os.IsNotExist(err) {
		t.Errorf("the failed run left the bytes it wrote: %v", err)
	}
	if count(t, tg.db, "SELECT count(*) FROM selfdb.import_python_objects") != objects0 ||
		count(t, tg.db, "SELECT coalesce(max(id), 0) FROM selfdb.change_log") != log0 ||
		count(t, tg.db, "SELECT count(*) FROM pg_class WHERE relname = 'coupons'") != 0 {
		t.Error("the failed run changed the bookkeeping, the change log or the tables")
	}
	if _, err := tg.run(t, verifyOpts(src)); err == nil {
		t.Error("verify passes although the source moved on")
	}
	// Once the cause is gone, the next run takes everything.
	src.exec(t, `ALTER TABLE public.coupons ALTER COLUMN code DROP DEFAULT`)
	tg.mustRun(t, src.opts())
	if _, err := tg.run(t, verifyOpts(src)); err != nil {
		t.Fatalf("verify after the fix: %v", err)
	}
}

// verifyOpts are the flags of --verify for a deployment.
func verifyOpts(d *deployment) importpython.Options {
	o := d.opts()
	o.Verify = true
	return o
}

// dryRun are the flags of --dry-run for a deployment.
func dryRun(d *deployment) importpython.Options {
	o := d.opts()
	o.DryRun = true
	return o
}

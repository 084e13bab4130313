package importpython_test

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestImportScale measures an import of a generated deployment: the
// fixture plus a table of SELFDB_IMPORT_SCALE_ROWS rows (default 1 million)
// and SELFDB_IMPORT_SCALE_MB MiB of files (default 1024, 1 MiB each), then
// an incremental run after 1,000 changes. It runs only when
// SELFDB_IMPORT_SCALE is set (never in make test):
//
//	SELFDB_IMPORT_SCALE=1 go test -run TestImportScale -v -timeout 30m ./cmd/selfdb/importpython/
func TestImportScale(t *testing.T) {
	if os.Getenv("SELFDB_IMPORT_SCALE") == "" {
		t.Skip("set SELFDB_IMPORT_SCALE=1 to measure (a few minutes, 2 GiB of disk)")
	}
	rows := envInt(t, "SELFDB_IMPORT_SCALE_ROWS", 1_000_000)
	mib := envInt(t, "SELFDB_IMPORT_SCALE_MB", 1024)
	src, tg := restore(t), newTarget(t)

	start := time.Now()
	src.exec(t, `CREATE TABLE public.big (id bigserial PRIMARY KEY, ref uuid NOT NULL DEFAULT gen_random_uuid(), name text NOT NULL,
  amount numeric(12,2), tags text[], meta jsonb, at timestamptz NOT NULL DEFAULT now())`)
	src.exec(t, `CREATE INDEX big_name_idx ON public.big (name)`)
	src.exec(t, fmt.Sprintf(`INSERT INTO public.big (name, amount, tags, meta, at)
SELECT 'row ' || i || ' ✓', (i %% 100000) / 100.0, ARRAY['t' || (i %% 7), 'u'], jsonb_build_object('i', i, 'even', i %% 2 = 0),
  timestamptz '2026-01-01' + i * interval '1 second' FROM generate_series(1, %d) i`, rows))
	src.exec(t, `ANALYZE public.big`)
	buf := make([]byte, 1<<20)
	for i := range mib {
		if _, err := rand.Read(buf); err != nil {
			t.Fatal(err)
		}
		object := fmt.Sprintf("5ca1e000-0000-4000-8000-%012d.bin", i)
		writeFile(t, filepath.Join(src.storage, "bob-public", object), buf)
		src.exec(t, `INSERT INTO public.files (id, filename, object_name, bucket_name, size, owner_id, bucket_id)
VALUES (?, ?, ?, 'bob-public', ?, '4c5397f5-8189-4c88-a22b-4ff1dfe0974a', '00a329ba-1c63-46bd-bee5-77fa1796a9ea')`,
			fmt.Sprintf("5ca1e000-0000-4000-8000-%012d", i), fmt.Sprintf("blob-%d.bin", i), object, len(buf))
	}
	t.Logf("generated %d rows and %d MiB of files in %s", rows, mib, time.Since(start).Round(time.Second))

	start = time.Now()
	out := tg.mustRun(t, src.opts())
	full := time.Since(start)
	t.Logf("first import: %s in all", full.Round(time.Millisecond))
	_ = out

	src.exec(t, `UPDATE public.big SET amount = amount + 1 WHERE id % 2000 = 0`)                              // 500
	src.exec(t, `DELETE FROM public.big WHERE id % 10000 = 1`)                                                // 100
	src.exec(t, `INSERT INTO public.big (name, amount) SELECT 'new ' || i, i FROM generate_series(1, 400) i`) // 400
	start = time.Now()
	tg.mustRun(t, src.opts())
	t.Logf("incremental run after 1,000 changes: %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	tg.mustRun(t, src.opts())
	t.Logf("run with nothing to do: %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	if _, err := tg.run(t, verifyOpts(src)); err != nil {
		t.Fatalf("verify: %v", err)
	}
	t.Logf("verify: %s", time.Since(start).Round(time.Millisecond))
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}

package testkit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"go.uber.org/goleak"

	"github.com/selfdb/selfdb/migrations"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
)

var (
	adminURL     string // the server, any database
	packageDBURL string // this package's own database
	memcachedURL string
)

// Main is a test package's TestMain: it creates the package database from
// the migrated template, runs the tests, drops the database and fails on
// leaked goroutines.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	adminURL = os.Getenv("SELFDB_TEST_DATABASE_URL")
	memcachedURL = os.Getenv("SELFDB_TEST_MEMCACHED")
	if adminURL == "" || memcachedURL == "" {
		fmt.Fprintln(os.Stderr, "testkit: SELFDB_TEST_DATABASE_URL and SELFDB_TEST_MEMCACHED must be set; run `make test`")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	name, err := createPackageDB(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testkit:", err)
		return 2
	}
	packageDBURL = withDatabase(adminURL, name)
	code := m.Run()
	dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
	defer dcancel()
	if err := adminExec(dctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, name)); err != nil {
		fmt.Fprintln(os.Stderr, "testkit: drop database:", err)
	}
	if code == 0 {
		if err := goleak.Find(leakOptions...); err != nil {
			fmt.Fprintln(os.Stderr, "testkit: goroutine leak:", err)
			return 1
		}
	}
	return code
}

// leakOptions ignore goroutines that libraries start once per process.
var leakOptions = []goleak.Option{
	// fasthttp's once-per-process date ticker sleeps in a loop; matched by
	// name rather than ignoring every goroutine in time.Sleep, which would
	// hide a module's leaked polling loop.
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
	// fasthttp's worker-pool cleaner notices Stop only after its 10 s sleep.
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func1"),
}

// DatabaseURL is this package's database (migrated, shared by its tests).
func DatabaseURL() string { return packageDBURL }

// AdminDatabaseURL is a superuser URL to the test server.
func AdminDatabaseURL() string { return adminURL }

// MemcachedAddr is the shared test memcached.
func MemcachedAddr() string { return memcachedURL }

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func openURL(raw string) (*bun.DB, error) {
	cfg := &config.Config{DatabaseURL: raw, DBMaxOpenConns: 4, DBDialTimeout: 5 * time.Second, DBReadTimeout: time.Minute, DBConnMaxLifetime: time.Minute}
	return db.Open(cfg)
}

func adminExec(ctx context.Context, query string, args ...any) error {
	admin, err := openURL(adminURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	_, err = admin.ExecContext(ctx, query, args...)
	return err
}

// templateName changes whenever a migration file does.
func templateName() string {
	h := sha256.New()
	_ = fs.WalkDir(migrationsFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(migrationsFS(), p)
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	return "selfdb_tpl_" + hex.EncodeToString(h.Sum(nil))[:16]
}

func migrationsFS() fs.FS { return migrations.Files }

// createPackageDB makes sure the template exists (built once, under an
// advisory lock, by whichever package gets there first) and clones it.
func createPackageDB(ctx context.Context) (string, error) {
	admin, err := openURL(adminURL)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if err := db.Ping(ctx, admin, 30*time.Second); err != nil {
		return "", err
	}
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(727272)"); err != nil {
		return "", err
	}
	tpl := templateName()
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = ?)", tpl).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if err := buildTemplate(ctx, conn, tpl); err != nil {
			_, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock(727272)")
			return "", err
		}
	}
	pkg := filepath.Base(mustGetwd())
	name := fmt.Sprintf("selfdb_t_%s_%s", sanitize(pkg), randHex(4))
	_, err = conn.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %q TEMPLATE %q`, name, tpl))
	_, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock(727272)")
	return name, err
}

func buildTemplate(ctx context.Context, conn bun.Conn, tpl string) error {
	building := tpl + "_build"
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, building)); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %q`, building)); err != nil {
		return err
	}
	tdb, err := openURL(withDatabase(adminURL, building))
	if err != nil {
		return err
	}
	_, err = db.Migrate(ctx, tdb)
	tdb.Close()
	if err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	_, err = conn.ExecContext(ctx, fmt.Sprintf(`ALTER DATABASE %q RENAME TO %q`, building, tpl))
	return err
}

func mustGetwd() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return wd
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() > 20 {
		return b.String()[:20]
	}
	return b.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ScratchDatabase creates an empty database (no migrations) on the test
// server, dropped with FORCE when the test ends, and returns its URL: for
// tests of migrations themselves.
func ScratchDatabase(t testing.TB) string {
	t.Helper()
	name := "selfdb_scratch_" + randHex(4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := adminExec(ctx, fmt.Sprintf(`CREATE DATABASE %q`, name)); err != nil {
		t.Fatalf("testkit: scratch database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := adminExec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, name)); err != nil {
			t.Errorf("testkit: drop scratch database: %v", err)
		}
	})
	return withDatabase(adminURL, name)
}

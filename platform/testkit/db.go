package testkit

import (
	"context"
	"slices"
	"testing"

	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/migrations"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
)

// OpenDB opens a pool on rawURL with the test configuration (env: name,
// value pairs overriding it), closed when the test ends.
func OpenDB(t testing.TB, rawURL string, env ...string) *bun.DB {
	t.Helper()
	e := TestEnv(t)
	e["DATABASE_URL"] = rawURL
	for i := 0; i+1 < len(env); i += 2 {
		e[env[i]] = env[i+1]
	}
	cfg, err := config.Parse(e)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// MigratedOnce fails t unless d's migration table records every embedded
// migration exactly once.
func MigratedOnce(t testing.TB, d *bun.DB) {
	t.Helper()
	var rows []struct {
		Name string
		N    int
	}
	if err := d.NewRaw(`SELECT name, count(*) AS n FROM selfdb.bun_migrations GROUP BY name ORDER BY name`).Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rows {
		if r.N != 1 {
			t.Errorf("migration %s recorded %d times", r.Name, r.N)
		}
		names = append(names, r.Name)
	}
	var want []string
	for _, m := range migrations.Migrations.Sorted() {
		want = append(want, m.Name)
	}
	if !slices.Equal(names, want) {
		t.Fatalf("bun_migrations holds %v, want %v", names, want)
	}
}

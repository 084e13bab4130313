package db_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/migrations"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func allMigrations() []string {
	var names []string
	for _, m := range migrations.Migrations.Sorted() {
		names = append(names, m.String())
	}
	return names
}

// relations lists the tables, views, sequences and types outside the system
// schemas, leaving out the migrator's own bookkeeping.
func relations(t *testing.T, d *bun.DB) []string {
	t.Helper()
	var out []string
	err := d.NewRaw(`
		SELECT n.nspname || '.' || c.relname || ' (' || c.relkind::text || ')'
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
		  AND NOT (n.nspname = 'selfdb' AND c.relname LIKE 'bun_migration%')
		UNION ALL
		SELECT n.nspname || '.' || t.typname || ' (type)'
		FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
		WHERE t.typtype IN ('e', 'd', 'c') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		  AND n.nspname NOT LIKE 'pg_%'
		  AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
		UNION ALL
		SELECT n.nspname || '.' || p.proname || ' (function)'
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
		ORDER BY 1`).Scan(context.Background(), &out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Up → down (until nothing is left) → up on an empty database: every down
// file undoes its up file, and the second up rebuilds the same schema.
func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	d := testkit.OpenDB(t, testkit.ScratchDatabase(t))
	ctx := context.Background()
	all := allMigrations()
	if len(all) == 0 {
		t.Fatal("no embedded migrations")
	}

	if done, pending, err := db.Pending(ctx, d); err != nil || len(done) != 0 || !slices.Equal(pending, all) {
		t.Fatalf("status of an empty database: applied %v pending %v (%v)", done, pending, err)
	}
	applied, err := db.Migrate(ctx, d)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if !slices.Equal(applied, all) {
		t.Fatalf("up applied %v, want %v", applied, all)
	}
	schema := relations(t, d)
	if again, err := db.Migrate(ctx, d); err != nil || len(again) != 0 {
		t.Fatalf("second up applied %v (%v)", again, err)
	}
	if done, pending, err := db.Pending(ctx, d); err != nil || len(pending) != 0 || len(done) != len(all) {
		t.Fatalf("status after up: applied %v pending %v (%v)", done, pending, err)
	}

	var undone []string
	for range len(all) + 1 {
		u, err := db.Rollback(ctx, d)
		if err != nil {
			t.Fatalf("down after %v: %v", undone, err)
		}
		if len(u) == 0 {
			break
		}
		undone = append(undone, u...)
	}
	if len(undone) != len(all) {
		t.Fatalf("rolled back %v, want all of %v", undone, all)
	}
	if done, pending, err := db.Pending(ctx, d); err != nil || len(done) != 0 || len(pending) != len(all) {
		t.Fatalf("status after down: applied %v pending %v (%v)", done, pending, err)
	}
	if left := relations(t, d); len(left) != 0 {
		t.Errorf("down files left objects behind: %v", left)
	}

	applied, err = db.Migrate(ctx, d)
	if err != nil {
		t.Fatalf("up again: %v", err)
	}
	if !slices.Equal(applied, all) {
		t.Fatalf("up again applied %v, want %v", applied, all)
	}
	if again := relations(t, d); !slices.Equal(again, schema) {
		t.Errorf("schema after up→down→up differs:\nfirst  %v\nsecond %v", schema, again)
	}
}

// Instances starting at the same moment on an empty database (each with its
// own pool, as separate processes would) apply every migration exactly once.
func TestConcurrentMigrateAppliesOnce(t *testing.T) {
	t.Parallel()
	dbURL := testkit.ScratchDatabase(t)
	all := allMigrations()
	const instances = 4
	pools := make([]*bun.DB, instances)
	for i := range pools {
		pools[i] = testkit.OpenDB(t, dbURL)
		if err := db.Ping(context.Background(), pools[i], 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := make(chan struct{})
	results := make([][]string, instances)
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = db.Migrate(ctx, pools[i])
		}()
	}
	close(start)
	wg.Wait()
	var total []string
	for i := range instances {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		total = append(total, results[i]...)
	}
	slices.Sort(total)
	if !slices.Equal(total, all) {
		t.Fatalf("instances applied %v together, want each of %v once", total, all)
	}

	testkit.MigratedOnce(t, pools[0])
}

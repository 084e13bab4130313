package db

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/selfdb/selfdb/migrations"
)

// migrationLockKey is the advisory lock id that serialises migrations across
// instances ("selfdb" in ASCII).
const migrationLockKey = 0x73656c666462

// Migrator returns the migrator over the embedded migrations; its own tables
// live in the selfdb schema.
func Migrator(db *bun.DB) *migrate.Migrator {
	return migrate.NewMigrator(db, migrations.Migrations,
		migrate.WithTableName("selfdb.bun_migrations"),
		migrate.WithLocksTableName("selfdb.bun_migration_locks"),
		migrate.WithMarkAppliedOnSuccess(true),
	)
}

// WithLock runs fn while holding the migration advisory lock, so that N
// instances starting at once apply migrations exactly once.
func WithLock(ctx context.Context, db *bun.DB, fn func(m *migrate.Migrator) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", migrationLockKey); err != nil {
		return fmt.Errorf("advisory lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", migrationLockKey) //nolint:errcheck
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS selfdb"); err != nil {
		return err
	}
	m := Migrator(db)
	if err := m.Init(ctx); err != nil {
		return err
	}
	return fn(m)
}

// Migrate applies every pending migration and returns their names.
func Migrate(ctx context.Context, db *bun.DB) ([]string, error) {
	var applied []string
	err := WithLock(ctx, db, func(m *migrate.Migrator) error {
		group, err := m.Migrate(ctx)
		if err != nil {
			return err
		}
		for _, mig := range group.Migrations {
			applied = append(applied, mig.String())
		}
		return nil
	})
	return applied, err
}

// Rollback undoes the last applied group of migrations.
func Rollback(ctx context.Context, db *bun.DB) ([]string, error) {
	var undone []string
	err := WithLock(ctx, db, func(m *migrate.Migrator) error {
		group, err := m.Rollback(ctx)
		if err != nil {
			return err
		}
		for _, mig := range group.Migrations {
			undone = append(undone, mig.String())
		}
		return nil
	})
	return undone, err
}

// Pending returns the migrations not applied yet. On a database never
// migrated (no bookkeeping table yet) every migration is pending.
func Pending(ctx context.Context, db *bun.DB) (applied, pending []string, err error) {
	var initialised bool
	if err := db.QueryRowContext(ctx, "SELECT to_regclass('selfdb.bun_migrations') IS NOT NULL").Scan(&initialised); err != nil {
		return nil, nil, err
	}
	if !initialised {
		for _, mig := range migrations.Migrations.Sorted() {
			pending = append(pending, mig.String())
		}
		return nil, pending, nil
	}
	m := Migrator(db)
	ms, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, mig := range ms {
		if mig.IsApplied() {
			applied = append(applied, mig.String())
		} else {
			pending = append(pending, mig.String())
		}
	}
	return applied, pending, nil
}

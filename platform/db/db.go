package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/config"
)

// readBufferSize is each connection's read buffer. pgdriver reads every
// field of a server error in one piece from it, and Postgres repeats the
// offending value in its messages: with the driver's 4 KiB, a long filter
// value or number turned a 4xx into "bufio: buffer full" and a closed
// connection. 64 KiB keeps the real SQLSTATE for all but absurd values (Err
// maps those) at 64 KiB × the pool (4 × GOMAXPROCS connections by default:
// 1 MiB on 4 cores) of resident memory.
const readBufferSize = 64 << 10

// Open connects to the configured database with explicit pool settings. It
// does not ping; see Ping.
func Open(cfg *config.Config) (*bun.DB, error) {
	dsn, err := config.NormalizeDatabaseURL(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	connector := pgdriver.NewConnector(
		pgdriver.WithDSN(dsn),
		pgdriver.WithDialTimeout(cfg.DBDialTimeout),
		pgdriver.WithReadTimeout(cfg.DBReadTimeout),
		pgdriver.WithWriteTimeout(cfg.DBReadTimeout),
		pgdriver.WithApplicationName("selfdb"),
		pgdriver.WithBufferSize(readBufferSize),
	)
	sqldb := sql.OpenDB(connector)
	sqldb.SetMaxOpenConns(cfg.MaxOpenConns())
	sqldb.SetMaxIdleConns(cfg.MaxIdleConns())
	sqldb.SetConnMaxLifetime(cfg.DBConnMaxLifetime)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	return bun.NewDB(sqldb, pgdialect.New(), bun.WithDiscardUnknownColumns()), nil
}

// Ping checks the database within timeout, retrying while it starts up.
func Ping(ctx context.Context, db *bun.DB, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var err error
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		err = db.PingContext(pctx)
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("database unreachable: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Params are New's dependencies.
type Params struct {
	fx.In
	Config    *config.Config
	Logger    *zap.Logger
	Lifecycle fx.Lifecycle
	Registry  *prometheus.Registry
}

// New opens the database for the Fx app: it pings at start (bounded by
// DB_START_TIMEOUT), applies migrations when MIGRATE_ON_START is set, and
// closes the pool at stop.
func New(p Params) (*bun.DB, error) {
	db, err := Open(p.Config)
	if err != nil {
		return nil, err
	}
	if err := p.Registry.Register(collectors.NewDBStatsCollector(db.DB, "selfdb")); err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := Ping(ctx, db, p.Config.DBStartTimeout); err != nil {
				return err
			}
			if p.Config.MigrateOnStart {
				applied, err := Migrate(ctx, db)
				if err != nil {
					return fmt.Errorf("migrations: %w", err)
				}
				if len(applied) > 0 {
					p.Logger.Info("migrations applied", zap.Strings("migrations", applied))
				}
			}
			return nil
		},
		OnStop: func(context.Context) error { return db.Close() },
	})
	return db, nil
}

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

// PoolOptions describe one connection pool.
type PoolOptions struct {
	// Name is the sessions' application_name (pg_stat_activity) and the
	// pool's label in the metrics.
	Name string
	// MaxConns caps open connections; MaxIdle (0: MaxConns) those kept idle.
	MaxConns, MaxIdle int
	// ReadTimeout bounds every socket read and write (0: none): a Postgres
	// that stops answering fails the statement, and the connection is
	// dropped.
	ReadTimeout time.Duration
}

// OpenPool connects to the configured database with explicit pool
// settings. It does not ping; see Ping.
func OpenPool(cfg *config.Config, o PoolOptions) (*bun.DB, error) {
	dsn, err := config.NormalizeDatabaseURL(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	opts := []pgdriver.Option{
		pgdriver.WithDSN(dsn),
		pgdriver.WithDialTimeout(cfg.DBDialTimeout),
		pgdriver.WithReadTimeout(o.ReadTimeout),
		pgdriver.WithWriteTimeout(o.ReadTimeout),
		pgdriver.WithApplicationName(o.Name),
	}
	sqldb := sql.OpenDB(pgdriver.NewConnector(opts...))
	idle := o.MaxIdle
	if idle <= 0 {
		idle = o.MaxConns
	}
	sqldb.SetMaxOpenConns(o.MaxConns)
	sqldb.SetMaxIdleConns(idle)
	sqldb.SetConnMaxLifetime(cfg.DBConnMaxLifetime)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	return bun.NewDB(sqldb, pgdialect.New(), bun.WithDiscardUnknownColumns()), nil
}

// LongPool is a pool for work that may run long (migrations waiting on
// each other's lock, the CLI, the SQL console): DB_READ_TIMEOUT per round
// trip.
func LongPool(cfg *config.Config, name string, maxConns int) PoolOptions {
	return PoolOptions{Name: name, MaxConns: maxConns, ReadTimeout: cfg.DBReadTimeout}
}

// Open connects a LongPool of DB_MAX_OPEN_CONNS connections: the server's
// pool, the CLI's, tools' and tests'.
func Open(cfg *config.Config) (*bun.DB, error) {
	o := LongPool(cfg, "selfdb", cfg.MaxOpenConns())
	o.MaxIdle = cfg.MaxIdleConns()
	return OpenPool(cfg, o)
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

// Acquire takes one connection of d, for a caller that runs several
// statements on one session, waiting at most wait (0: as long as ctx
// allows): ErrBusy when none frees up in time. Closing the connection gives
// it back. The connection is not tied to ctx once acquired.
func Acquire(ctx context.Context, d *bun.DB, wait time.Duration) (bun.Conn, error) {
	actx := ctx
	if wait > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	conn, err := d.Conn(actx)
	if err != nil {
		return conn, Err(err)
	}
	return conn, nil
}

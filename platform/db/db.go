package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
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
	// StatementTimeout is the sessions' statement_timeout (0: the server's):
	// Postgres cancels a statement that runs past it.
	StatementTimeout time.Duration
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
		pgdriver.WithBufferSize(readBufferSize),
		// Before reusing an idle connection, make sure the server has not
		// hung up on it (see alive).
		pgdriver.WithResetSessionFunc(func(_ context.Context, cn *pgdriver.Conn) error {
			if alive(cn.Conn()) != nil {
				return driver.ErrBadConn
			}
			return nil
		}),
	}
	if o.StatementTimeout > 0 {
		// Added to the DSN's own parameters (WithConnParams would replace them).
		ms := strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
		opts = append(opts, func(c *pgdriver.Config) {
			if c.ConnParams == nil {
				c.ConnParams = map[string]any{}
			}
			c.ConnParams["statement_timeout"] = ms
		})
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

// APIPool is the pool every request shares (DB_MAX_OPEN_CONNS): each
// statement is bounded by DB_QUERY_TIMEOUT on the server (statement_timeout)
// and, a quarter later, on the socket, so a hung Postgres fails requests
// fast instead of holding them for DB_READ_TIMEOUT.
func APIPool(cfg *config.Config) PoolOptions {
	return PoolOptions{
		Name: "selfdb", MaxConns: cfg.MaxOpenConns(), MaxIdle: cfg.MaxIdleConns(),
		ReadTimeout: cfg.DBQueryTimeout + cfg.DBQueryTimeout/4, StatementTimeout: cfg.DBQueryTimeout,
	}
}

// LongPool is a pool for work that may run long (migrations waiting on
// each other's lock, the CLI, the SQL console): DB_READ_TIMEOUT per round
// trip and no statement_timeout of its own.
func LongPool(cfg *config.Config, name string, maxConns int) PoolOptions {
	return PoolOptions{Name: name, MaxConns: maxConns, ReadTimeout: cfg.DBReadTimeout}
}

// Open connects a LongPool of DB_MAX_OPEN_CONNS connections: for the CLI,
// tools and tests. The server's own pool is New's (APIPool).
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

// UnreachableError is a database that did not answer at start-up within
// DB_START_TIMEOUT. Its message is one line naming DATABASE_URL by host and
// port (never its password) and the last failure.
type UnreachableError struct {
	// Target is DATABASE_URL's host:port (or its socket directory).
	Target  string
	Timeout time.Duration
	Err     error
	// cause is Err's text on one line, the URL's password masked.
	cause string
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("database unreachable: DATABASE_URL points at %s, which did not answer within %s (DB_START_TIMEOUT): %s",
		e.Target, e.Timeout, e.cause)
}

// Unwrap returns the last failure.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Target is where a database URL points, host:port (default port 5432),
// without user, password or database: for messages.
func Target(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "an unparsable URL"
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = u.Query().Get("host")
	}
	if port == "" {
		port = u.Query().Get("port")
	}
	if port == "" {
		port = "5432"
	}
	return net.JoinHostPort(host, port)
}

// PingAtStart is Ping for start-up: bounded by DB_START_TIMEOUT, failing
// with an *UnreachableError.
func PingAtStart(ctx context.Context, db *bun.DB, cfg *config.Config) error {
	err := Ping(ctx, db, cfg.DBStartTimeout)
	if err == nil {
		return nil
	}
	cause := err
	if inner := errors.Unwrap(err); inner != nil {
		cause = inner // Ping's own "database unreachable" is said once
	}
	text := strings.Join(strings.Fields(cause.Error()), " ")
	if u, perr := url.Parse(cfg.DatabaseURL); perr == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			text = strings.ReplaceAll(text, pw, "xxxxx")
		}
	}
	return &UnreachableError{Target: Target(cfg.DatabaseURL), Timeout: cfg.DBStartTimeout, Err: err, cause: text}
}

// Params are New's dependencies.
type Params struct {
	fx.In
	Config    *config.Config
	Logger    *zap.Logger
	Lifecycle fx.Lifecycle
	Registry  *prometheus.Registry
}

// New opens the API pool for the Fx app: it pings at start (bounded by
// DB_START_TIMEOUT), applies migrations when MIGRATE_ON_START is set (on a
// pool of their own: waiting for another instance's migration lock must not
// run into DB_QUERY_TIMEOUT), and closes the pool at stop.
func New(p Params) (*bun.DB, error) {
	db, err := OpenPool(p.Config, APIPool(p.Config))
	if err != nil {
		return nil, err
	}
	if err := p.Registry.Register(collectors.NewDBStatsCollector(db.DB, "selfdb")); err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := PingAtStart(ctx, db, p.Config); err != nil {
				return err
			}
			if p.Config.MigrateOnStart {
				applied, err := migrateOnStart(ctx, p.Config)
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

// migrateOnStart applies pending migrations on a short-lived LongPool; two
// connections: one holds the advisory lock while the other migrates.
func migrateOnStart(ctx context.Context, cfg *config.Config) ([]string, error) {
	mdb, err := OpenPool(cfg, LongPool(cfg, "selfdb-migrate", 2))
	if err != nil {
		return nil, err
	}
	defer mdb.Close()
	return Migrate(ctx, mdb)
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

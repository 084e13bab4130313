package sqlconsole

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
)

// Pool is the console's own connections (SQL_CONSOLE_MAX_CONNS), apart from
// the API's: a console run never holds, nor waits for, a connection other
// requests need, and what a script leaves in its session (SET, LISTEN,
// temporary tables, advisory locks, ...) never reaches them.
type Pool struct {
	db   *bun.DB
	wait time.Duration
}

// OpenPool opens the console's pool (connections are made on first use).
// Its round trips are bounded by DB_READ_TIMEOUT, which must stay above
// SQL_STATEMENT_TIMEOUT.
func OpenPool(cfg *config.Config) (*Pool, error) {
	if cfg.DBReadTimeout > 0 && cfg.SQLStatementTimeout >= cfg.DBReadTimeout {
		return nil, fmt.Errorf("config: SQL_STATEMENT_TIMEOUT (%s) must be below DB_READ_TIMEOUT (%s)", cfg.SQLStatementTimeout, cfg.DBReadTimeout)
	}
	d, err := db.OpenPool(cfg, db.LongPool(cfg, "selfdb-sqlconsole", cfg.SQLConsoleMaxConns))
	if err != nil {
		return nil, err
	}
	return &Pool{db: d, wait: cfg.DBAcquireTimeout}, nil
}

// DB is the pool itself, for its metrics.
func (p *Pool) DB() *bun.DB { return p.db }

// Conn takes a connection, waiting at most DB_ACQUIRE_TIMEOUT: 503
// database_busy when every one stays in use. Reset it before it serves
// anything else; Close gives it back.
func (p *Pool) Conn(ctx context.Context) (bun.Conn, error) {
	return db.Acquire(ctx, p.db, p.wait)
}

// Reset discards what a script left in conn's session (DISCARD ALL: settings,
// role, LISTEN, temporary tables, prepared statements, advisory locks). When
// that fails the session's state is unknown: conn is dropped (closed, never
// pooled again) and Reset reports false.
func (p *Pool) Reset(ctx context.Context, conn bun.Conn) bool {
	if _, err := conn.ExecContext(ctx, "DISCARD ALL"); err != nil {
		Drop(conn)
		return false
	}
	return true
}

// Drop closes conn for good: database/sql discards a connection whose Raw
// callback reports driver.ErrBadConn instead of pooling it.
func Drop(conn bun.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

// Close closes the pool.
func (p *Pool) Close() error { return p.db.Close() }

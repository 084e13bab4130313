package events

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/worker"
)

// Log reads and prunes selfdb.change_log.
type Log struct {
	db *bun.DB
}

// NewLog builds the log over the pool.
func NewLog(d *bun.DB) *Log { return &Log{db: d} }

// Since calls fn with every event whose id is in (after, upto], in id
// order, restricted to tables when it is not empty. It returns ErrTooOld
// when events after `after` were pruned.
func (l *Log) Since(ctx context.Context, after, upto int64, tables []string, fn func(*Event) error) error {
	var pruned int64
	if err := l.db.QueryRowContext(ctx, "SELECT pruned_through FROM selfdb.change_log_state").Scan(&pruned); err != nil {
		return db.Err(err)
	}
	if after < pruned {
		return ErrTooOld
	}
	filter := "{}"
	if len(tables) > 0 {
		filter = pgTextArray(tables)
	}
	for after < upto {
		n := 0
		rows, err := l.db.DB.QueryContext(ctx, `SELECT id, table_name, op, row::text, old_row::text, created_at FROM selfdb.change_log
WHERE id > $1 AND id <= $2 AND (cardinality($3::text[]) = 0 OR table_name = ANY($3::text[])) ORDER BY id LIMIT $4`, after, upto, filter, batch)
		if err != nil {
			return db.Err(err)
		}
		for rows.Next() {
			var e Event
			var row, old sql.NullString
			if err := rows.Scan(&e.ID, &e.Table, &e.Op, &row, &old, &e.CreatedAt); err != nil {
				rows.Close()
				return db.Err(err)
			}
			e.Row, e.OldRow = rawJSON(row), rawJSON(old)
			after = e.ID
			n++
			if err := fn(&e); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return db.Err(err)
		}
		if n < batch {
			return nil
		}
	}
	return nil
}

// Head is the id of the newest committed change.
func (l *Log) Head(ctx context.Context) (int64, error) {
	var id int64
	err := l.db.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM selfdb.change_log").Scan(&id)
	return id, db.Err(err)
}

// Sync waits (at most timeout) until bus has dispatched every change
// committed before the call, so that what this process caches from events
// reflects the caller's own writes: read-your-writes for writers that rely
// on events (the SQL console after DDL, tests after plain SQL).
func Sync(ctx context.Context, l *Log, bus *Bus, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	head, err := l.Head(ctx)
	if err != nil {
		return err
	}
	return bus.WaitFor(ctx, head)
}

// pgTextArray renders strings as a Postgres text[] literal.
func pgTextArray(ss []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// Prune deletes rows written before cutoff, at most limit of them, in tx,
// and records the horizon. It returns how many it deleted.
func (l *Log) Prune(ctx context.Context, tx bun.Tx, cutoff time.Time, limit int) (int, error) {
	total := 0
	for total < limit {
		var n int
		var through sql.NullInt64
		err := tx.QueryRowContext(ctx, `WITH doomed AS (
  DELETE FROM selfdb.change_log WHERE id IN (SELECT id FROM selfdb.change_log ORDER BY id LIMIT ?) AND created_at < ? RETURNING id)
SELECT count(*), max(id) FROM doomed`, min(10000, limit-total), cutoff).Scan(&n, &through)
		if err != nil {
			return total, db.Err(err)
		}
		if n == 0 {
			break
		}
		total += n
		if _, err := tx.ExecContext(ctx, "UPDATE selfdb.change_log_state SET pruned_through = greatest(pruned_through, ?)", through.Int64); err != nil {
			return total, db.Err(err)
		}
		if n < 10000 {
			break
		}
	}
	return total, nil
}

// NewPruner is the worker that prunes rows older than REALTIME_RETENTION
// every minute, on one instance at a time.
func NewPruner(l *Log, cfg *config.Config, log *zap.Logger) worker.Worker {
	const name = "events.prune"
	log = log.Named("events")
	return worker.Every(name, time.Minute, func(ctx context.Context) error {
		_, err := db.WithAdvisoryLock(ctx, l.db, name, func(ctx context.Context, tx bun.Tx) error {
			n, err := l.Prune(ctx, tx, time.Now().Add(-cfg.RealtimeRetention), 100000)
			if n > 0 {
				log.Info("change log pruned", zap.Int("rows", n))
			}
			return err
		})
		return err
	})
}

// NewCaptureSweeper is the worker that attaches the capture trigger to user
// tables that lack it. With event triggers (a superuser database) DDL does
// it at once and this finds nothing; without them it is how tables created
// in plain SQL get captured.
func NewCaptureSweeper(d *bun.DB) worker.Worker {
	return worker.Every("events.ensure-capture", 30*time.Second, func(ctx context.Context) error {
		_, err := d.ExecContext(ctx, "SELECT selfdb.ensure_capture()")
		return db.Err(err)
	})
}

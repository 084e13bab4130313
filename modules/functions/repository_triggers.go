package functions

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/selfdb/selfdb/platform/db"
)

// The SQL of trigger progress: schedule claims, change-log cursors and
// their leases, once attempts, code analysis.

// SyncState makes the trigger state match f's effective triggers, in the
// transaction that saves f: a function_state row; a schedule row per cron
// expression, claimed up to now (times before the save never run); a
// change-log cursor at the log's head when database triggers start, none
// when they stop.
func (r *Repository) SyncState(ctx context.Context, f *Function) error {
	eff := f.Effective()
	if _, err := r.db.ExecContext(ctx, `INSERT INTO selfdb.function_state (function_id) VALUES (?) ON CONFLICT DO NOTHING`, f.ID); err != nil {
		return db.Err(err)
	}
	crons := []string{}
	for _, t := range of(eff, TriggerSchedule) {
		crons = append(crons, t.Cron)
	}
	if _, err := r.db.ExecContext(ctx, `DELETE FROM selfdb.function_schedules WHERE function_id = ? AND NOT (cron = ANY(?))`,
		f.ID, pgdialect.Array(crons)); err != nil {
		return db.Err(err)
	}
	if _, err := r.db.ExecContext(ctx, `INSERT INTO selfdb.function_schedules (function_id, cron, last_at)
SELECT ?, c, now() FROM unnest(?::text[]) AS c ON CONFLICT DO NOTHING`, f.ID, pgdialect.Array(crons)); err != nil {
		return db.Err(err)
	}
	q := `UPDATE selfdb.function_state SET db_cursor = NULL, db_attempts = 0, db_retry_at = NULL WHERE function_id = ?`
	if len(of(eff, TriggerDatabase)) > 0 {
		q = `UPDATE selfdb.function_state SET db_cursor = coalesce(db_cursor, (SELECT coalesce(max(id), 0) FROM selfdb.change_log))
WHERE function_id = ?`
	}
	_, err := r.db.ExecContext(ctx, q, f.ID)
	return db.Err(err)
}

// HeaderByID loads a function by id without its code.
func (r *Repository) HeaderByID(ctx context.Context, id uuid.UUID) (*Function, error) {
	f := new(Function)
	err := r.db.NewSelect().Model(f).ExcludeColumn("code").Where("f.id = ?", id).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, ErrNotFound
	}
	return f, db.Err(err)
}

// schedule is one cron expression of an active function and the last time
// claimed for it.
type schedule struct {
	FunctionID uuid.UUID `bun:"function_id"`
	Cron       string    `bun:"cron"`
	LastAt     time.Time `bun:"last_at"`
}

// Schedules lists the schedules of active functions.
func (r *Repository) Schedules(ctx context.Context) ([]schedule, error) {
	var rows []schedule
	err := r.db.NewRaw(`SELECT s.function_id, s.cron, s.last_at FROM selfdb.function_schedules AS s
JOIN selfdb.functions AS f ON f.id = s.function_id WHERE f.is_active`).Scan(ctx, &rows)
	return rows, db.Err(err)
}

// ClaimSchedule moves a schedule's last claimed time to due; only one
// caller (of any instance) can, so only that one runs it.
func (r *Repository) ClaimSchedule(ctx context.Context, fn uuid.UUID, cron string, due time.Time) (bool, error) {
	res, err := r.db.ExecContext(ctx, `UPDATE selfdb.function_schedules SET last_at = ?
WHERE function_id = ? AND cron = ? AND last_at < ?`, due, fn, cron, due)
	if err != nil {
		return false, db.Err(err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// cursor is a function's change-log position as its lease holder sees it.
type cursor struct {
	Position int64
	Attempts int
	RetryAt  *time.Time
}

// Lease takes (or renews) the right to deliver a function's changes for d:
// held by no one, by owner already, or expired. ok is false when another
// instance holds it or the function has no cursor.
func (r *Repository) Lease(ctx context.Context, fn uuid.UUID, owner string, d time.Duration) (*cursor, bool, error) {
	var c cursor
	var retry sql.NullTime
	err := r.db.QueryRowContext(ctx, `UPDATE selfdb.function_state
SET lease_owner = ?, lease_until = now() + make_interval(secs => ?)
WHERE function_id = ? AND db_cursor IS NOT NULL AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < now())
RETURNING db_cursor, db_attempts, db_retry_at`, owner, d.Seconds(), fn, owner).Scan(&c.Position, &c.Attempts, &retry)
	if db.ErrNoRows(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, db.Err(err)
	}
	if retry.Valid {
		c.RetryAt = &retry.Time
	}
	return &c, true, nil
}

// Advance moves a leased cursor past a delivered change and renews the lease.
func (r *Repository) Advance(ctx context.Context, fn uuid.UUID, owner string, position int64, d time.Duration) (bool, error) {
	res, err := r.db.ExecContext(ctx, `UPDATE selfdb.function_state
SET db_cursor = ?, db_attempts = 0, db_retry_at = NULL, lease_until = now() + make_interval(secs => ?)
WHERE function_id = ? AND lease_owner = ? AND db_cursor IS NOT NULL`, position, d.Seconds(), fn, owner)
	if err != nil {
		return false, db.Err(err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Retry records a failed delivery: the change is tried again at at.
func (r *Repository) Retry(ctx context.Context, fn uuid.UUID, owner string, attempts int, at time.Time) error {
	_, err := r.db.ExecContext(ctx, `UPDATE selfdb.function_state SET db_attempts = ?, db_retry_at = ?
WHERE function_id = ? AND lease_owner = ?`, attempts, at, fn, owner)
	return db.Err(err)
}

// PrunedThrough is the change log's pruned horizon: ids up to it are gone.
func (r *Repository) PrunedThrough(ctx context.Context) (int64, error) {
	var id int64
	err := r.db.QueryRowContext(ctx, `SELECT pruned_through FROM selfdb.change_log_state`).Scan(&id)
	return id, db.Err(err)
}

// Release gives a lease up (the instance stops).
func (r *Repository) Release(ctx context.Context, fn uuid.UUID, owner string) error {
	_, err := r.db.ExecContext(ctx, `UPDATE selfdb.function_state SET lease_owner = NULL, lease_until = NULL
WHERE function_id = ? AND lease_owner = ?`, fn, owner)
	return db.Err(err)
}

// OnceDue lists the active functions (without code) whose once trigger has
// not succeeded yet and may be tried now.
func (r *Repository) OnceDue(ctx context.Context) ([]*Function, error) {
	var fs []*Function
	err := r.db.NewSelect().Model(&fs).ExcludeColumn("code").
		Join("JOIN selfdb.function_state AS s ON s.function_id = f.id").
		Where("f.is_active AND s.once_done_at IS NULL AND s.once_next_at <= now()").
		Where(`(f.triggers @> '[{"type":"once"}]' OR f.code_triggers @> '[{"type":"once"}]')`).
		Scan(ctx)
	return fs, db.Err(err)
}

// ClaimOnce takes the next attempt of a once trigger, holding further
// attempts off for hold; ok is false when another instance took it.
func (r *Repository) ClaimOnce(ctx context.Context, fn uuid.UUID, hold time.Duration) (attempt int, ok bool, err error) {
	err = r.db.QueryRowContext(ctx, `UPDATE selfdb.function_state
SET once_attempts = once_attempts + 1, once_next_at = now() + make_interval(secs => ?)
WHERE function_id = ? AND once_done_at IS NULL AND once_next_at <= now()
RETURNING once_attempts`, hold.Seconds(), fn).Scan(&attempt)
	if db.ErrNoRows(err) {
		return 0, false, nil
	}
	return attempt, err == nil, db.Err(err)
}

// OnceDone records that a once trigger succeeded: it never runs again.
func (r *Repository) OnceDone(ctx context.Context, fn uuid.UUID) error {
	_, err := r.db.ExecContext(ctx, `UPDATE selfdb.function_state SET once_done_at = now() WHERE function_id = ?`, fn)
	return db.Err(err)
}

// OnceRetry sets when a failed once trigger is tried again.
func (r *Repository) OnceRetry(ctx context.Context, fn uuid.UUID, after time.Duration) error {
	_, err := r.db.ExecContext(ctx, `UPDATE selfdb.function_state SET once_next_at = now() + make_interval(secs => ?)
WHERE function_id = ? AND once_done_at IS NULL`, after.Seconds(), fn)
	return db.Err(err)
}

// Unanalyzed lists the functions whose current code's triggers are unknown
// (saved while no runtime could read them).
func (r *Repository) Unanalyzed(ctx context.Context) ([]*Function, error) {
	var fs []*Function
	err := r.db.NewSelect().Model(&fs).Where("f.analyzed_version <> f.version_number").Scan(ctx)
	return fs, db.Err(err)
}

// SetCodeTriggers records what a version's code declares, unless the
// function moved on to another version meanwhile.
func (r *Repository) SetCodeTriggers(ctx context.Context, fn uuid.UUID, version int, ts []Trigger) (bool, error) {
	b, err := json.Marshal(ts)
	if err != nil {
		return false, err
	}
	res, err := r.db.ExecContext(ctx, `UPDATE selfdb.functions SET code_triggers = ?::jsonb, analyzed_version = ?
WHERE id = ? AND version_number = ?`, string(b), version, fn, version)
	if err != nil {
		return false, db.Err(err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// inTx runs fn in a transaction of d with a repository over it.
func inTx(ctx context.Context, d *bun.DB, fn func(ctx context.Context, r *Repository) error) error {
	return db.Err(d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return fn(ctx, NewRepository(tx)) }))
}

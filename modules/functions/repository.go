package functions

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/identity"
)

// Repository is the SQL of the functions tables (the trigger state's is in
// repository_triggers.go).
type Repository struct{ db bun.IDB }

// NewRepository returns a repository over d (a *bun.DB or a transaction).
func NewRepository(d bun.IDB) *Repository { return &Repository{db: d} }

// WithTx returns a repository running in tx.
func (r *Repository) WithTx(tx bun.IDB) *Repository { return &Repository{db: tx} }

// lastRunJoin finds each function's latest run in the same query.
const lastRunJoin = `LEFT JOIN LATERAL (
	SELECT r.started_at AS last_run_at, r.status AS last_status FROM selfdb.function_runs AS r
	WHERE r.function_id = f.id ORDER BY r.started_at DESC LIMIT 1
) AS lr ON true`

func (r *Repository) withLastRun(rows any) *bun.SelectQuery {
	return r.db.NewSelect().Model(rows).ColumnExpr("f.*").ColumnExpr("lr.last_run_at, lr.last_status").Join(lastRunJoin)
}

// List pages through the functions in (created_at, id) order.
func (r *Repository) List(ctx context.Context, skip, limit int) ([]WithLastRun, error) {
	rows := []WithLastRun{}
	err := r.withLastRun(&rows).OrderExpr("f.created_at, f.id").Offset(skip).Limit(limit).Scan(ctx)
	return rows, db.Err(err)
}

// Get loads one function with its latest run.
func (r *Repository) Get(ctx context.Context, id uuid.UUID) (*WithLastRun, error) {
	row := new(WithLastRun)
	err := r.withLastRun(row).Where("f.id = ?", id).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, ErrNotFound
	}
	return row, db.Err(err)
}

// Lock loads one function and locks its row until the transaction ends.
func (r *Repository) Lock(ctx context.Context, id uuid.UUID) (*Function, error) {
	f := new(Function)
	err := r.db.NewSelect().Model(f).Where("f.id = ?", id).For("UPDATE").Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, ErrNotFound
	}
	return f, db.Err(err)
}

// Header loads a function by name without its code (what a call needs).
func (r *Repository) Header(ctx context.Context, name string) (*Function, error) {
	f := new(Function)
	err := r.db.NewSelect().Model(f).ExcludeColumn("code").Where("f.name = ?", name).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, ErrNotFound
	}
	return f, db.Err(err)
}

// Subscribers loads the active functions (without code) whose effective
// triggers include every key of trigger (a JSON object such as
// {"type":"event","event":"x"}).
func (r *Repository) Subscribers(ctx context.Context, trigger string) ([]*Function, error) {
	var fs []*Function
	err := r.db.NewSelect().Model(&fs).ExcludeColumn("code").
		Where("f.is_active").
		Where("(f.triggers @> jsonb_build_array(?::jsonb) OR f.code_triggers @> jsonb_build_array(?::jsonb))", trigger, trigger).
		OrderExpr("f.created_at, f.id").Scan(ctx)
	return fs, db.Err(err)
}

// Insert stores a new function, filling id and created_at.
func (r *Repository) Insert(ctx context.Context, f *Function) error {
	_, err := r.db.NewInsert().Model(f).ExcludeColumn("id", "created_at").Returning("id, created_at").Exec(ctx)
	return nameErr(err)
}

// Update writes the given columns of f (and updated_at = now()).
func (r *Repository) Update(ctx context.Context, f *Function, columns ...string) error {
	_, err := r.db.NewUpdate().Model(f).Column(columns...).Set("updated_at = now()").WherePK().Returning("updated_at").Exec(ctx)
	if db.ErrNoRows(err) {
		return ErrNotFound
	}
	return nameErr(err)
}

// Delete removes a function and, by cascade, its versions, env, runs and state.
func (r *Repository) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := r.db.NewDelete().Model((*Function)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return db.Err(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// IDsByOwner lists the ids of owner's functions.
func (r *Repository) IDsByOwner(ctx context.Context, owner uuid.UUID) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := r.db.NewSelect().Model((*Function)(nil)).Column("id").Where("owner_id = ?", owner).Scan(ctx, &ids)
	return ids, db.Err(err)
}

// InsertVersion stores a saved code.
func (r *Repository) InsertVersion(ctx context.Context, v *Version) error {
	_, err := r.db.NewInsert().Model(v).Returning("id, created_at").Exec(ctx)
	return db.Err(err)
}

// Versions lists a function's versions, newest first.
func (r *Repository) Versions(ctx context.Context, fn uuid.UUID) ([]Version, error) {
	rows := []Version{}
	err := r.db.NewSelect().Model(&rows).Where("v.function_id = ?", fn).OrderExpr("v.version_number DESC").Scan(ctx)
	return rows, db.Err(err)
}

// Version loads one version.
func (r *Repository) Version(ctx context.Context, fn uuid.UUID, n int) (*Version, error) {
	v := new(Version)
	err := r.db.NewSelect().Model(v).Where("v.function_id = ? AND v.version_number = ?", fn, n).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, ErrVersionNotFound
	}
	return v, db.Err(err)
}

// Env lists a function's variables by key.
func (r *Repository) Env(ctx context.Context, fn uuid.UUID) ([]EnvVar, error) {
	rows := []EnvVar{}
	err := r.db.NewSelect().Model(&rows).Where("e.function_id = ?", fn).OrderExpr("e.key").Scan(ctx)
	return rows, db.Err(err)
}

// EnvVar loads one variable of a function.
func (r *Repository) EnvVar(ctx context.Context, fn, id uuid.UUID) (*EnvVar, error) {
	e := new(EnvVar)
	err := r.db.NewSelect().Model(e).Where("e.function_id = ? AND e.id = ?", fn, id).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, ErrEnvNotFound
	}
	return e, db.Err(err)
}

// InsertEnv stores a new variable.
func (r *Repository) InsertEnv(ctx context.Context, e *EnvVar) error {
	_, err := r.db.NewInsert().Model(e).ExcludeColumn("id", "created_at").Returning("id, created_at").Exec(ctx)
	return envErr(err)
}

// UpdateEnv writes a variable's key, value and secrecy.
func (r *Repository) UpdateEnv(ctx context.Context, e *EnvVar) error {
	_, err := r.db.NewUpdate().Model(e).Column("key", "value", "is_secret").Set("updated_at = now()").WherePK().Returning("updated_at").Exec(ctx)
	return envErr(err)
}

// DeleteEnv removes a variable.
func (r *Repository) DeleteEnv(ctx context.Context, fn, id uuid.UUID) error {
	res, err := r.db.NewDelete().Model((*EnvVar)(nil)).Where("function_id = ? AND id = ?", fn, id).Exec(ctx)
	if err != nil {
		return db.Err(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrEnvNotFound
	}
	return nil
}

// BumpEnv marks the function's environment changed, so that runtimes load
// it again, and returns the function's name; it reports ErrNotFound for no
// such function.
func (r *Repository) BumpEnv(ctx context.Context, fn uuid.UUID) (string, error) {
	var name string
	err := r.db.QueryRowContext(ctx, `UPDATE selfdb.functions SET env_version = env_version + 1 WHERE id = ? RETURNING name`, fn).Scan(&name)
	if db.ErrNoRows(err) {
		return "", ErrNotFound
	}
	return name, db.Err(err)
}

// Source loads what a runtime needs for one version: its code and the
// function's current env.
func (r *Repository) Source(ctx context.Context, fn uuid.UUID, version int) (string, []EnvVar, error) {
	v, err := r.Version(ctx, fn, version)
	if err != nil {
		return "", nil, err
	}
	env, err := r.Env(ctx, fn)
	return v.Code, env, err
}

// Runs lists a function's latest runs, newest first.
func (r *Repository) Runs(ctx context.Context, fn uuid.UUID, limit int) ([]Run, error) {
	rows := []Run{}
	err := r.db.NewSelect().Model(&rows).Where("r.function_id = ?", fn).OrderExpr("r.started_at DESC, r.id").Limit(limit).Scan(ctx)
	return rows, db.Err(err)
}

// InsertRuns stores runs in one statement; when some belong to functions
// deleted meanwhile, the others are stored one by one.
func (r *Repository) InsertRuns(ctx context.Context, runs []*Run) error {
	if len(runs) == 0 {
		return nil
	}
	_, err := r.db.NewInsert().Model(&runs).Exec(ctx)
	if db.SQLState(err) != "23503" {
		return db.Err(err)
	}
	for _, run := range runs {
		if _, err := r.db.NewInsert().Model(run).Exec(ctx); err != nil && db.SQLState(err) != "23503" {
			return db.Err(err)
		}
	}
	return nil
}

// PruneRuns deletes up to limit runs started before cutoff and returns how many.
func (r *Repository) PruneRuns(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	res, err := r.db.NewDelete().Model((*Run)(nil)).
		Where("id IN (SELECT id FROM selfdb.function_runs WHERE started_at < ? ORDER BY started_at LIMIT ?)", cutoff, limit).
		Exec(ctx)
	if err != nil {
		return 0, db.Err(err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// nameErr turns the name constraints into the contract's 400s.
func nameErr(err error) error {
	if err == nil {
		return nil
	}
	switch db.Constraint(err) {
	case "functions_name_key":
		return ErrExists.Wrap(err)
	case "functions_name_check":
		return ErrInvalidName.Wrap(err)
	case "functions_timeout_check":
		return ErrInvalidTimeout.Wrap(err)
	case "functions_invoke_policy_check":
		return ErrInvalidPolicy.Wrap(err)
	}
	e := db.Err(err)
	if errors.Is(e, db.ErrForeignKeyViolation) {
		return identity.ErrOwnerNotFound.WithMessage("The function's owner does not exist").Wrap(err)
	}
	return e
}

func envErr(err error) error {
	switch db.Constraint(err) {
	case "function_env_key_key":
		return ErrEnvExists.Wrap(err)
	case "function_env_key_check":
		return ErrInvalidEnvKey.Wrap(err)
	}
	return db.Err(err)
}

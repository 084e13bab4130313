package users

import (
	"context"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/platform/db"
)

// Repository is the SQL of selfdb.users for account administration.
type Repository struct {
	db *bun.DB
}

// NewRepository builds the repository over the pool.
func NewRepository(d *bun.DB) *Repository { return &Repository{db: d} }

// list returns a page of users in (created_at, id) order; nonSuperusers
// filters before paging.
func (r *Repository) list(ctx context.Context, skip, limit int, nonSuperusers bool) ([]userRow, error) {
	rows := []userRow{}
	q := r.db.NewSelect().Model(&rows).OrderExpr("u.created_at, u.id").Offset(skip).Limit(limit)
	if nonSuperusers {
		q = q.Where("NOT u.is_superuser")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, db.Err(err)
	}
	return rows, nil
}

// countNonSuperusers counts the accounts that are not superusers.
func (r *Repository) countNonSuperusers(ctx context.Context) (int, error) {
	n, err := r.db.NewSelect().Model((*userRow)(nil)).Where("NOT u.is_superuser").Count(ctx)
	return n, db.Err(err)
}

// byID returns the row (with its hash), or nil, nil.
func (r *Repository) byID(ctx context.Context, id uuid.UUID) (*userRow, error) {
	row := new(userRow)
	err := r.db.NewSelect().Model(row).Where("u.id = ?", id).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, db.Err(err)
	}
	return row, nil
}

// patch is a partial update of a user; nil fields are left alone.
type patch struct {
	Email          *string
	SetFullName    bool
	FullName       *string
	HashedPassword *string
	IsActive       *bool
	IsSuperuser    *bool
}

// update applies p to the user and returns the new row, nil when missing.
// A taken email is ErrEmailExists.
func (r *Repository) update(ctx context.Context, idb bun.IDB, id uuid.UUID, p patch) (*userRow, error) {
	row := new(userRow)
	q := idb.NewUpdate().Model(row).Set("updated_at = now()").Where("u.id = ?", id).Returning("*")
	if p.Email != nil {
		q = q.Set("email = ?", *p.Email)
	}
	if p.SetFullName {
		q = q.Set("full_name = ?", p.FullName)
	}
	if p.HashedPassword != nil {
		q = q.Set("hashed_password = ?", *p.HashedPassword)
	}
	if p.IsActive != nil {
		q = q.Set("is_active = ?", *p.IsActive)
	}
	if p.IsSuperuser != nil {
		q = q.Set("is_superuser = ?", *p.IsSuperuser)
	}
	err := q.Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, nil
	}
	if db.SQLState(err) == "23505" {
		return nil, ErrEmailExists
	}
	if err != nil {
		return nil, db.Err(err)
	}
	return row, nil
}

// delete removes the user row, reporting whether it existed. Rows that
// still reference the user are ErrUserHasData.
func (r *Repository) delete(ctx context.Context, idb bun.IDB, id uuid.UUID) (bool, error) {
	res, err := idb.NewDelete().Model((*userRow)(nil)).Where("id = ?", id).Exec(ctx)
	if db.SQLState(err) == "23503" {
		return false, ErrUserHasData.WithMessage("The user still owns data that blocks the deletion: %s", db.Message(err)).Wrap(err)
	}
	if err != nil {
		return false, db.Err(err)
	}
	n, err := res.RowsAffected()
	return n == 1, db.Err(err)
}

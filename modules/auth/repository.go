package auth

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/platform/db"
)

// Repository is the SQL of selfdb.users (reads and inserts) and selfdb.refresh_tokens.
type Repository struct {
	db *bun.DB
}

// NewRepository builds the repository over the pool.
func NewRepository(d *bun.DB) *Repository { return &Repository{db: d} }

// UserByID returns the user, or nil, nil when there is none.
func (r *Repository) UserByID(ctx context.Context, id uuid.UUID) (*User, error) {
	row := new(userRow)
	err := r.db.NewSelect().Model(row).Where("u.id = ?", id).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, db.Err(err)
	}
	return row.public(), nil
}

// userByEmail returns the user with this email (any case), or nil, nil.
func (r *Repository) userByEmail(ctx context.Context, email string) (*userRow, error) {
	row := new(userRow)
	err := r.db.NewSelect().Model(row).Where("lower(u.email) = lower(?)", email).Limit(1).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, db.Err(err)
	}
	return row, nil
}

// UserIDByEmail returns the id of the user with this email (any case), or
// uuid.Nil.
func (r *Repository) UserIDByEmail(ctx context.Context, email string) (uuid.UUID, error) {
	row, err := r.userByEmail(ctx, email)
	if err != nil || row == nil {
		return uuid.Nil, err
	}
	return row.ID, nil
}

// insertUser adds row unless its email is taken (any case), reporting
// whether it did. ON CONFLICT makes concurrent inserts of one email safe:
// exactly one wins and the rest see created=false, never an error.
func (r *Repository) insertUser(ctx context.Context, row *userRow) (bool, error) {
	res, err := r.db.NewInsert().Model(row).
		Column("email", "hashed_password", "full_name", "is_active", "is_superuser").
		On("CONFLICT ((lower(email))) DO NOTHING").
		Returning("id, created_at, updated_at").
		Exec(ctx)
	if db.ErrNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, db.Err(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, db.Err(err)
	}
	return n == 1, nil
}

// insertRefresh stores a refresh token's hash.
func (r *Repository) insertRefresh(ctx context.Context, idb bun.IDB, t *refreshToken) error {
	_, err := idb.NewInsert().Model(t).
		Column("user_id", "token_hash", "family_id", "expires_at").
		Returning("id, created_at").
		Exec(ctx)
	return db.Err(err)
}

// refreshByHash returns the stored token with this hash, or nil, nil.
func (r *Repository) refreshByHash(ctx context.Context, hash []byte) (*refreshToken, error) {
	t := new(refreshToken)
	err := r.db.NewSelect().Model(t).Where("rt.token_hash = ?", hash).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, db.Err(err)
	}
	return t, nil
}

// retire marks a token as replaced by a rotation at the app's clock (the
// grace window is measured with the same clock); false when another request
// retired (or deleted) it first.
func (r *Repository) retire(ctx context.Context, idb bun.IDB, id uuid.UUID, at time.Time) (bool, error) {
	res, err := idb.NewUpdate().Model((*refreshToken)(nil)).
		Set("retired_at = ?", at).
		Where("id = ? AND retired_at IS NULL", id).
		Exec(ctx)
	if err != nil {
		return false, db.Err(err)
	}
	n, err := res.RowsAffected()
	return n == 1, db.Err(err)
}

// deleteFamily revokes a token and every token rotated from the same login.
func (r *Repository) deleteFamily(ctx context.Context, familyID uuid.UUID) error {
	_, err := r.db.NewDelete().Model((*refreshToken)(nil)).Where("family_id = ?", familyID).Exec(ctx)
	return db.Err(err)
}

// deleteFamilyByHash revokes the family of the token with this hash, if any.
func (r *Repository) deleteFamilyByHash(ctx context.Context, hash []byte) error {
	_, err := r.db.NewDelete().Model((*refreshToken)(nil)).
		Where("family_id IN (SELECT family_id FROM selfdb.refresh_tokens WHERE token_hash = ?)", hash).
		Exec(ctx)
	return db.Err(err)
}

// deleteForUser revokes every refresh token of a user.
func (r *Repository) deleteForUser(ctx context.Context, idb bun.IDB, userID uuid.UUID) error {
	_, err := idb.NewDelete().Model((*refreshToken)(nil)).Where("user_id = ?", userID).Exec(ctx)
	return db.Err(err)
}

// purgeExpired deletes refresh tokens past their expiry.
func (r *Repository) purgeExpired(ctx context.Context, idb bun.IDB) (int64, error) {
	res, err := idb.NewDelete().Model((*refreshToken)(nil)).Where("expires_at < now()").Exec(ctx)
	if err != nil {
		return 0, db.Err(err)
	}
	return res.RowsAffected()
}

// listUsers returns a page of users in (created_at, id) order;
// nonSuperusers filters before paging.
func (r *Repository) listUsers(ctx context.Context, skip, limit int, nonSuperusers bool) ([]userRow, error) {
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

// userRowByID returns the row (with its hash), or nil, nil.
func (r *Repository) userRowByID(ctx context.Context, id uuid.UUID) (*userRow, error) {
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

// updateUser applies p in idb and returns the new row, nil when missing. A
// taken email is ErrEmailTaken.
func (r *Repository) updateUser(ctx context.Context, idb bun.IDB, id uuid.UUID, p rowPatch) (*userRow, error) {
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
		return nil, ErrEmailTaken
	}
	if err != nil {
		return nil, db.Err(err)
	}
	return row, nil
}

// deleteUser removes the user row in idb, reporting whether it existed.
// Rows that still reference the user are ErrUserHasData.
func (r *Repository) deleteUser(ctx context.Context, idb bun.IDB, id uuid.UUID) (bool, error) {
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

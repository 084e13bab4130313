package files

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/platform/db"
)

// Repository is the SQL of selfdb.files.
type Repository struct{ db bun.IDB }

// NewRepository returns a repository over d (a *bun.DB or a transaction).
func NewRepository(d bun.IDB) *Repository { return &Repository{db: d} }

// Insert stores a new pending row, filling id and created_at.
func (r *Repository) Insert(ctx context.Context, f *File) error {
	_, err := r.db.NewInsert().Model(f).ExcludeColumn("id", "created_at").Returning("id, created_at").Exec(ctx)
	return db.Err(err)
}

// FindByID loads one row.
func (r *Repository) FindByID(ctx context.Context, id uuid.UUID) (*File, error) {
	f := new(File)
	err := r.db.NewSelect().Model(f).Where("f.id = ?", id).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, ErrFileNotFound
	}
	return f, db.Err(err)
}

// FindByObject loads the row of an object.
func (r *Repository) FindByObject(ctx context.Context, bucketID uuid.UUID, object string) (*File, error) {
	f := new(File)
	err := r.db.NewSelect().Model(f).Where("f.bucket_id = ? AND f.object_name = ?", bucketID, object).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, ErrFileNotFound
	}
	return f, db.Err(err)
}

// Filter selects rows for a listing.
type Filter struct {
	BucketID  *uuid.UUID
	OwnerID   *uuid.UUID
	ReadyOnly bool
}

// List pages through rows in (created_at, id) order.
func (r *Repository) List(ctx context.Context, f Filter, skip, limit int) ([]File, error) {
	rows := []File{}
	q := r.db.NewSelect().Model(&rows).OrderExpr("f.created_at, f.id").Offset(skip).Limit(limit)
	if f.BucketID != nil {
		q = q.Where("f.bucket_id = ?", *f.BucketID)
	}
	if f.OwnerID != nil {
		q = q.Where("f.owner_id = ?", *f.OwnerID)
	}
	if f.ReadyOnly {
		q = q.Where("f.status = ?", StatusReady)
	}
	return rows, db.Err(q.Scan(ctx))
}

// MarkReady records the stored bytes of a pending row; false when the row is
// gone or no longer pending.
func (r *Repository) MarkReady(ctx context.Context, f *File) (bool, error) {
	res, err := r.db.NewUpdate().Model(f).
		Column("size", "checksum_sha256", "content_type", "status").
		Set("updated_at = now()").
		Where("f.id = ? AND f.status = ?", f.ID, StatusPending).
		Returning("updated_at").Exec(ctx)
	if db.ErrNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, db.Err(err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Delete removes one row; false when it was already gone.
func (r *Repository) Delete(ctx context.Context, id uuid.UUID) (bool, error) {
	res, err := r.db.NewDelete().Model((*File)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return false, db.Err(err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeleteWhere removes rows matching where and returns them.
func (r *Repository) deleteReturning(ctx context.Context, where string, args ...any) ([]File, error) {
	var rows []File
	_, err := r.db.NewDelete().Model(&rows).Where(where, args...).Returning("*").Exec(ctx)
	if db.ErrNoRows(err) {
		return nil, nil
	}
	return rows, db.Err(err)
}

// DeleteByBucket removes a bucket's rows and returns them.
func (r *Repository) DeleteByBucket(ctx context.Context, bucketID uuid.UUID) ([]File, error) {
	return r.deleteReturning(ctx, "bucket_id = ?", bucketID)
}

// DeleteByOwner removes a user's rows and returns them.
func (r *Repository) DeleteByOwner(ctx context.Context, owner uuid.UUID) ([]File, error) {
	return r.deleteReturning(ctx, "owner_id = ?", owner)
}

// DeleteExpiredPending removes pending rows whose upload URL expired before cutoff.
func (r *Repository) DeleteExpiredPending(ctx context.Context, cutoff time.Time) ([]File, error) {
	return r.deleteReturning(ctx, "status = ? AND upload_expires_at < ?", StatusPending, cutoff)
}

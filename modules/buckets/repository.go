package buckets

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/identity"
)

// Repository is the SQL of selfdb.buckets.
type Repository struct{ db bun.IDB }

// NewRepository returns a repository over d (a *bun.DB or a transaction).
func NewRepository(d bun.IDB) *Repository { return &Repository{db: d} }

// WithTx returns a repository running in tx.
func (r *Repository) WithTx(tx bun.IDB) *Repository { return &Repository{db: tx} }

// Scope selects the buckets a listing may show.
type Scope struct {
	// All shows every bucket (superuser).
	All bool
	// Viewer, when set, adds the viewer's own buckets to the public ones.
	Viewer *uuid.UUID
}

// statsJoin aggregates the ready files of each bucket in the same query.
const statsJoin = `LEFT JOIN LATERAL (
	SELECT count(*)::bigint AS file_count, coalesce(sum(f.size), 0)::bigint AS total_size
	FROM selfdb.files AS f WHERE f.bucket_id = b.id AND f.status = 'ready'
) AS s ON true`

func (r *Repository) withStats(rows any) *bun.SelectQuery {
	return r.db.NewSelect().Model(rows).
		ColumnExpr("b.*").
		ColumnExpr("s.file_count, s.total_size").
		Join(statsJoin)
}

// List pages through the buckets in scope, with stats, in (created_at, id) order.
func (r *Repository) List(ctx context.Context, scope Scope, skip, limit int) ([]WithStats, error) {
	rows := []WithStats{}
	q := r.withStats(&rows).OrderExpr("b.created_at, b.id").Offset(skip).Limit(limit)
	switch {
	case scope.All:
	case scope.Viewer != nil:
		q = q.Where("b.is_public OR b.owner_id = ?", *scope.Viewer)
	default:
		q = q.Where("b.is_public")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, db.Err(err)
	}
	return rows, nil
}

// GetWithStats loads one bucket with its stats.
func (r *Repository) GetWithStats(ctx context.Context, id uuid.UUID) (*WithStats, error) {
	row := new(WithStats)
	err := r.withStats(row).Where("b.id = ?", id).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, ErrNotFound
	}
	return row, db.Err(err)
}

// FindByID loads one bucket.
func (r *Repository) FindByID(ctx context.Context, id uuid.UUID) (*Bucket, error) {
	b := new(Bucket)
	err := r.db.NewSelect().Model(b).Where("b.id = ?", id).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, ErrNotFound
	}
	return b, db.Err(err)
}

// FindByName loads one bucket by its unique name.
func (r *Repository) FindByName(ctx context.Context, name string) (*Bucket, error) {
	b := new(Bucket)
	err := r.db.NewSelect().Model(b).Where("b.name = ?", name).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, ErrNotFound
	}
	return b, db.Err(err)
}

// Exists reports which of ids have a bucket row.
func (r *Repository) Exists(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	out := make(map[uuid.UUID]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var found []uuid.UUID
	err := r.db.NewSelect().Model((*Bucket)(nil)).Column("id").Where("b.id IN (?)", bun.List(ids)).Scan(ctx, &found)
	if err != nil {
		return nil, db.Err(err)
	}
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// IDsByOwner lists the ids of owner's buckets.
func (r *Repository) IDsByOwner(ctx context.Context, owner uuid.UUID) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := r.db.NewSelect().Model((*Bucket)(nil)).Column("id").Where("b.owner_id = ?", owner).Scan(ctx, &ids)
	return ids, db.Err(err)
}

// Insert stores a new bucket, filling id and created_at.
func (r *Repository) Insert(ctx context.Context, b *Bucket) error {
	_, err := r.db.NewInsert().Model(b).
		ExcludeColumn("id", "created_at").
		Returning("id, created_at").Exec(ctx)
	return nameErr(err)
}

// Update writes the given columns of b (and updated_at = now()).
func (r *Repository) Update(ctx context.Context, b *Bucket, columns ...string) error {
	_, err := r.db.NewUpdate().Model(b).
		Column(columns...).
		Set("updated_at = now()").
		WherePK().
		Returning("updated_at").Exec(ctx)
	if db.ErrNoRows(err) {
		return ErrNotFound
	}
	return nameErr(err)
}

// Delete removes the bucket row; it reports ErrNotFound when there was none.
func (r *Repository) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := r.db.NewDelete().Model((*Bucket)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return db.Err(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// nameErr turns the name constraints into the contract's 400s.
func nameErr(err error) error {
	if err == nil {
		return nil
	}
	switch db.Constraint(err) {
	case "buckets_name_key":
		return ErrExists.Wrap(err)
	case "buckets_name_check":
		return ErrInvalidName.Wrap(err)
	}
	e := db.Err(err)
	if errors.Is(e, db.ErrForeignKeyViolation) {
		return identity.ErrOwnerNotFound.WithMessage("The bucket's owner does not exist").Wrap(err)
	}
	return e
}

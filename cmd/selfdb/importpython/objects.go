package importpython

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// The target's rows as the import writes them: only the columns it owns
// (full_name, retired_at and the like stay as the Go server set them).

type userRow struct {
	bun.BaseModel `bun:"table:selfdb.users,alias:u"`

	ID             uuid.UUID  `bun:"id,pk,type:uuid"`
	Email          string     `bun:"email"`
	HashedPassword string     `bun:"hashed_password"`
	IsActive       bool       `bun:"is_active"`
	IsSuperuser    bool       `bun:"is_superuser"`
	CreatedAt      time.Time  `bun:"created_at"`
	UpdatedAt      *time.Time `bun:"updated_at"`
}

func (r userRow) key() string   { return r.ID.String() }
func (r userRow) label() string { return r.Email }
func (r userRow) sig() string {
	return sig(r.Email, r.HashedPassword, r.IsActive, r.IsSuperuser, r.CreatedAt, r.UpdatedAt)
}

type tokenRow struct {
	bun.BaseModel `bun:"table:selfdb.refresh_tokens,alias:rt"`

	ID        uuid.UUID `bun:"id,pk,type:uuid"`
	UserID    uuid.UUID `bun:"user_id,type:uuid"`
	TokenHash []byte    `bun:"token_hash"`
	FamilyID  uuid.UUID `bun:"family_id,type:uuid"`
	ExpiresAt time.Time `bun:"expires_at"`
	CreatedAt time.Time `bun:"created_at"`
}

func (r tokenRow) key() string   { return r.ID.String() }
func (r tokenRow) label() string { return "of user " + r.UserID.String() }
func (r tokenRow) sig() string {
	return sig(r.UserID.String(), fmt.Sprintf("%x", r.TokenHash), r.FamilyID.String(), r.ExpiresAt, r.CreatedAt)
}

type bucketRow struct {
	bun.BaseModel `bun:"table:selfdb.buckets,alias:b"`

	ID          uuid.UUID  `bun:"id,pk,type:uuid"`
	Name        string     `bun:"name"`
	Description *string    `bun:"description"`
	IsPublic    bool       `bun:"is_public"`
	OwnerID     uuid.UUID  `bun:"owner_id,type:uuid"`
	CreatedAt   time.Time  `bun:"created_at"`
	UpdatedAt   *time.Time `bun:"updated_at"`
}

func (r bucketRow) key() string   { return r.ID.String() }
func (r bucketRow) label() string { return r.Name }
func (r bucketRow) sig() string {
	return sig(r.Name, r.Description, r.IsPublic, r.OwnerID.String(), r.CreatedAt, r.UpdatedAt)
}

type fileRow struct {
	bun.BaseModel `bun:"table:selfdb.files,alias:f"`

	ID              uuid.UUID  `bun:"id,pk,type:uuid"`
	BucketID        uuid.UUID  `bun:"bucket_id,type:uuid"`
	ObjectName      string     `bun:"object_name"`
	Filename        string     `bun:"filename"`
	ContentType     *string    `bun:"content_type"`
	Size            int64      `bun:"size"`
	DeclaredSize    *int64     `bun:"declared_size"`
	ChecksumSHA256  *string    `bun:"checksum_sha256"`
	Status          string     `bun:"status"`
	OwnerID         uuid.UUID  `bun:"owner_id,type:uuid"`
	UploadExpiresAt time.Time  `bun:"upload_expires_at"`
	CreatedAt       time.Time  `bun:"created_at"`
	UpdatedAt       *time.Time `bun:"updated_at"`
}

func (r fileRow) key() string   { return r.ID.String() }
func (r fileRow) label() string { return r.Filename }
func (r fileRow) sig() string {
	return sig(r.BucketID.String(), r.ObjectName, r.Filename, r.ContentType, r.Size, r.DeclaredSize, r.ChecksumSHA256,
		r.Status, r.OwnerID.String(), r.UploadExpiresAt, r.CreatedAt, r.UpdatedAt)
}

type snippetRow struct {
	bun.BaseModel `bun:"table:selfdb.sql_snippets,alias:s"`

	ID          uuid.UUID `bun:"id,pk,type:uuid"`
	Name        string    `bun:"name"`
	Description *string   `bun:"description"`
	SQLCode     string    `bun:"sql_code"`
	UserID      uuid.UUID `bun:"user_id,type:uuid"`
	IsShared    bool      `bun:"is_shared"`
	CreatedAt   time.Time `bun:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at"`
}

func (r snippetRow) key() string   { return r.ID.String() }
func (r snippetRow) label() string { return r.Name }
func (r snippetRow) sig() string {
	return sig(r.Name, r.Description, r.SQLCode, r.UserID.String(), r.IsShared, r.CreatedAt, r.UpdatedAt)
}

// sig joins field values into a comparable signature (times in UTC, at
// Postgres' microsecond precision).
func sig(fields ...any) string {
	var b strings.Builder
	for _, f := range fields {
		switch v := f.(type) {
		case time.Time:
			b.WriteString(v.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano))
		case *time.Time:
			if v != nil {
				b.WriteString(v.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano))
			} else {
				b.WriteString("<nil>")
			}
		case *string:
			if v != nil {
				fmt.Fprintf(&b, "%q", *v)
			} else {
				b.WriteString("<nil>")
			}
		case *int64:
			if v != nil {
				fmt.Fprintf(&b, "%d", *v)
			} else {
				b.WriteString("<nil>")
			}
		case string:
			fmt.Fprintf(&b, "%q", v)
		default:
			fmt.Fprint(&b, v)
		}
		b.WriteByte('|')
	}
	return b.String()
}

// keyed is a target row the import compares by id.
type keyed interface {
	key() string
	sig() string
	label() string
}

// objectDiff is what a run writes to one kind of object.
type objectDiff[T keyed] struct {
	upserts          []T
	inserts, updates int
	deletes          []uuid.UUID
}

// diffObjects compares the rows the source calls for with the target's:
// new ones are inserted and recorded, imported ones that differ updated,
// imported ones gone from the source deleted; an id the target holds for
// something the import did not create is a problem.
func diffObjects[T keyed](im *importer, kind, noun string, desired []T, actual map[string]T) objectDiff[T] {
	var d objectDiff[T]
	want := map[string]bool{}
	for _, w := range desired {
		id := w.key()
		want[id] = true
		a, ok := actual[id]
		switch {
		case !ok:
			d.upserts = append(d.upserts, w)
			d.inserts++
			im.state.add(kind, id)
		case !im.state.has(kind, id):
			im.problems.add("the target already has a %s with id %s (%s) that the import did not create", noun, id, a.label())
		case a.sig() != w.sig():
			d.upserts = append(d.upserts, w)
			d.updates++
		}
	}
	for _, id := range im.state.ids(kind) {
		if want[id] {
			continue
		}
		if _, ok := actual[id]; ok {
			d.deletes = append(d.deletes, uuid.MustParse(id))
		}
		im.state.forget(kind, id)
	}
	return d
}

func (d *objectDiff[T]) changed() bool { return len(d.upserts)+len(d.deletes) > 0 }

func (d *objectDiff[T]) summary() string {
	return fmt.Sprintf("%d new, %d changed, %d deleted", d.inserts, d.updates, len(d.deletes))
}

// loadAll reads every row of a target table, by id.
func loadAll[T keyed](ctx context.Context, conn bun.Conn) (map[string]T, error) {
	var rows []T
	if err := conn.NewSelect().Model(&rows).Scan(ctx); err != nil {
		return nil, err
	}
	out := make(map[string]T, len(rows))
	for _, r := range rows {
		out[r.key()] = r
	}
	return out, nil
}

// upsert writes rows (insert, or update every column the import owns).
func upsert[T keyed](ctx context.Context, conn bun.Conn, rows []T, columns ...string) error {
	for len(rows) > 0 {
		n := min(len(rows), 500)
		batch := rows[:n]
		q := conn.NewInsert().Model(&batch).On("CONFLICT (id) DO UPDATE")
		for _, c := range columns {
			q = q.Set(ident(c) + " = EXCLUDED." + ident(c))
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// deleteIDs deletes rows of table by id.
func deleteIDs(ctx context.Context, conn bun.Conn, table string, ids []uuid.UUID) error {
	for len(ids) > 0 {
		n := min(len(ids), 5000)
		if _, err := conn.NewDelete().TableExpr(table).Where("id IN (?)", bun.List(ids[:n])).Exec(ctx); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

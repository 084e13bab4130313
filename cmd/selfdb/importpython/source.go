package importpython

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// pythonTables are the Python version's own tables in public (every
// version's; some have only a few). Everything else in public is a user
// table.
var pythonTables = []string{
	"alembic_version", "users", "refresh_tokens", "buckets", "files",
	"functions", "function_versions", "function_env_vars", "function_executions", "function_logs",
	"roles", "sql_snippets", "sql_history", "cors_origins", "webhooks", "webhook_deliveries",
}

// isPythonTable reports whether name is one of the Python version's tables.
func isPythonTable(name string) bool {
	for _, t := range pythonTables {
		if t == name {
			return true
		}
	}
	return false
}

// pythonTablesSQL is pythonTables as an SQL list of literals.
func pythonTablesSQL() string {
	q := make([]string, len(pythonTables))
	for i, t := range pythonTables {
		q[i] = lit(t)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// source is the Python database, read in one snapshot.
type source struct {
	conn    bun.Conn
	columns map[string]map[string]bool // table → column → present
	alembic string
	// xmin and xmax of the snapshot (64-bit transaction ids): every
	// transaction below xmin had ended when it was taken.
	xmin, xmax int64
}

// required are the tables and columns that make a database a Python SelfDB.
var required = map[string][]string{
	"users":          {"id", "email", "hashed_password", "is_active", "is_superuser"},
	"refresh_tokens": {"id", "token", "expires_at", "user_id"},
	"buckets":        {"id", "name", "owner_id"},
	"files":          {"id", "filename", "object_name", "owner_id"},
}

// openSnapshot starts the read-only snapshot and checks that the database
// is a Python SelfDB.
func openSnapshot(ctx context.Context, conn bun.Conn, where string) (*source, error) {
	if _, err := conn.ExecContext(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return nil, err
	}
	s := &source{conn: conn, columns: map[string]map[string]bool{}}
	rows, err := conn.QueryContext(ctx, `SELECT c.relname, a.attname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return nil, err
		}
		if s.columns[t] == nil {
			s.columns[t] = map[string]bool{}
		}
		s.columns[t][c] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// txid_* (not pg_current_snapshot) so that PostgreSQL before 13 works;
	// in a REPEATABLE READ transaction it is the transaction's snapshot.
	if err := conn.QueryRowContext(ctx, `SELECT txid_snapshot_xmin(txid_current_snapshot()), txid_snapshot_xmax(txid_current_snapshot())`).Scan(&s.xmin, &s.xmax); err != nil {
		return nil, err
	}
	var goSchema bool
	if err := conn.QueryRowContext(ctx, `SELECT to_regclass('selfdb.bun_migrations') IS NOT NULL`).Scan(&goSchema); err != nil {
		return nil, err
	}
	var missing []string
	for _, t := range sortedKeys(required) {
		if s.columns[t] == nil {
			missing = append(missing, "a table public."+t)
			continue
		}
		for _, c := range required[t] {
			if !s.columns[t][c] {
				missing = append(missing, "public."+t+"."+c)
			}
		}
	}
	if goSchema && len(missing) > 0 {
		return nil, fmt.Errorf("%s is a Go SelfDB database (it has selfdb.bun_migrations), not a Python one: --from-db must name the Python version's database", where)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s is not a Python SelfDB database: it lacks %s", where, strings.Join(missing, ", "))
	}
	if s.columns["alembic_version"]["version_num"] {
		_ = conn.QueryRowContext(ctx, `SELECT coalesce(max(version_num), '') FROM public.alembic_version`).Scan(&s.alembic)
	}
	return s, nil
}

// writtenSince is the condition "row x was written by a transaction at or
// past xmin" (a 64-bit transaction id): the row's 32-bit xmin is placed in
// the epoch of the snapshot's xmax. Rows frozen before PostgreSQL 9.4
// (xmin 2) are old.
func (s *source) writtenSince(xmin int64) string {
	epoch, low := s.xmax>>32, s.xmax&0xffffffff
	x := "x.xmin::text::bigint"
	return fmt.Sprintf("(CASE WHEN %[1]s < 3 THEN 0 WHEN %[1]s <= %[2]d THEN %[3]d + %[1]s ELSE %[4]d + %[1]s END) >= %[5]d",
		x, low, epoch<<32, (epoch-1)<<32, xmin)
}

// has reports whether the source has table.column.
func (s *source) has(table, column string) bool { return s.columns[table][column] }

// col is table.column when the source has it, else fallback (an SQL expression).
func (s *source) col(table, column, fallback string) string {
	if s.has(table, column) {
		return "t." + ident(column)
	}
	return fallback
}

// Python's rows.

type pyUser struct {
	ID                uuid.UUID
	Email, Hash       string
	IsActive, IsSuper bool
	CreatedAt         time.Time
	UpdatedAt         *time.Time
}

type pyToken struct {
	ID, UserID uuid.UUID
	Token      string
	ExpiresAt  time.Time
	Revoked    bool
	CreatedAt  time.Time
}

type pyBucket struct {
	ID, OwnerID   uuid.UUID
	Name, Storage string
	Description   *string
	IsPublic      bool
	CreatedAt     time.Time
	UpdatedAt     *time.Time
}

type pyFile struct {
	ID, OwnerID          uuid.UUID
	BucketID             *uuid.UUID
	BucketName           string
	Filename, ObjectName string
	ContentType          *string
	Size                 *int64
	CreatedAt            time.Time
	UpdatedAt            *time.Time
}

type pySnippet struct {
	ID, UserID  uuid.UUID
	Name, SQL   string
	Description *string
	IsShared    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// snapshot is what the source holds besides user tables.
type snapshot struct {
	users    []pyUser
	tokens   []pyToken
	buckets  []pyBucket
	files    []pyFile
	snippets []pySnippet
	funcs    *pyFunctions
}

// read loads every Python object.
func (s *source) read(ctx context.Context) (*snapshot, error) {
	snap := &snapshot{}
	// A missing timestamp becomes the epoch, not now(): every run must
	// derive the same rows from the same source.
	now := "'epoch'::timestamptz"
	err := s.query(ctx, `SELECT t.id, t.email, t.hashed_password, t.is_active, t.is_superuser, `+
		s.col("users", "created_at", now)+`, `+s.col("users", "updated_at", "NULL::timestamptz")+`
FROM public.users t ORDER BY t.id`, func(rs *sql.Rows) error {
		var u pyUser
		if err := rs.Scan(&u.ID, &u.Email, &u.Hash, &u.IsActive, &u.IsSuper, &u.CreatedAt, &u.UpdatedAt); err != nil {
			return err
		}
		snap.users = append(snap.users, u)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading users: %w", err)
	}
	err = s.query(ctx, `SELECT t.id, t.user_id, t.token, t.expires_at, coalesce(`+s.col("refresh_tokens", "revoked", "false")+`, false), `+
		s.col("refresh_tokens", "created_at", now)+` FROM public.refresh_tokens t ORDER BY t.id`, func(rs *sql.Rows) error {
		var t pyToken
		var created sql.NullTime
		if err := rs.Scan(&t.ID, &t.UserID, &t.Token, &t.ExpiresAt, &t.Revoked, &created); err != nil {
			return err
		}
		t.CreatedAt = orEpoch(created)
		snap.tokens = append(snap.tokens, t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading refresh tokens: %w", err)
	}
	err = s.query(ctx, `SELECT t.id, t.owner_id, t.name, coalesce(`+s.col("buckets", "minio_bucket_name", "NULL")+`, t.name), `+
		s.col("buckets", "description", "NULL")+`, coalesce(`+s.col("buckets", "is_public", "false")+`, false), `+
		s.col("buckets", "created_at", now)+`, `+s.col("buckets", "updated_at", "NULL::timestamptz")+`
FROM public.buckets t ORDER BY t.id`, func(rs *sql.Rows) error {
		var b pyBucket
		var created sql.NullTime
		if err := rs.Scan(&b.ID, &b.OwnerID, &b.Name, &b.Storage, &b.Description, &b.IsPublic, &created, &b.UpdatedAt); err != nil {
			return err
		}
		b.CreatedAt = orEpoch(created)
		snap.buckets = append(snap.buckets, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading buckets: %w", err)
	}
	err = s.query(ctx, `SELECT t.id, t.owner_id, `+s.col("files", "bucket_id", "NULL::uuid")+`, coalesce(`+s.col("files", "bucket_name", "NULL")+`, ''),
  t.filename, t.object_name, `+s.col("files", "content_type", "NULL")+`, `+s.col("files", "size", "NULL::bigint")+`::bigint, `+
		s.col("files", "created_at", now)+`, `+s.col("files", "updated_at", "NULL::timestamptz")+`
FROM public.files t ORDER BY t.id`, func(rs *sql.Rows) error {
		var f pyFile
		var created sql.NullTime
		if err := rs.Scan(&f.ID, &f.OwnerID, &f.BucketID, &f.BucketName, &f.Filename, &f.ObjectName, &f.ContentType, &f.Size, &created, &f.UpdatedAt); err != nil {
			return err
		}
		f.CreatedAt = orEpoch(created)
		snap.files = append(snap.files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading files: %w", err)
	}
	if s.has("sql_snippets", "sql_code") {
		err = s.query(ctx, `SELECT t.id, t.user_id, t.name, t.sql_code, t.description, coalesce(t.is_shared, false),
  coalesce(t.created_at, 'epoch'), coalesce(t.updated_at, t.created_at, 'epoch') FROM public.sql_snippets t ORDER BY t.id`, func(rs *sql.Rows) error {
			var sn pySnippet
			if err := rs.Scan(&sn.ID, &sn.UserID, &sn.Name, &sn.SQL, &sn.Description, &sn.IsShared, &sn.CreatedAt, &sn.UpdatedAt); err != nil {
				return err
			}
			snap.snippets = append(snap.snippets, sn)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading SQL snippets: %w", err)
		}
	}
	if snap.funcs, err = s.readFunctions(ctx); err != nil {
		return nil, fmt.Errorf("reading functions: %w", err)
	}
	return snap, nil
}

// query runs q on the snapshot and calls each for every row.
func (s *source) query(ctx context.Context, q string, each func(*sql.Rows) error) error {
	return queryEach(ctx, s.conn, q, each)
}

// queryEach runs q on conn and calls each for every row.
func queryEach(ctx context.Context, conn bun.Conn, q string, each func(*sql.Rows) error) error {
	rows, err := conn.Conn.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// orEpoch is t, or the epoch when it is NULL (see read).
func orEpoch(t sql.NullTime) time.Time {
	if t.Valid {
		return t.Time
	}
	return time.Unix(0, 0).UTC()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

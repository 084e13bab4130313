package tables

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/selfdb/selfdb/platform/db"
)

// queryer is a *sql.DB or *sql.Tx. The repository talks database/sql
// directly (no Bun formatting) because its SQL is built dynamically and must
// reach Postgres exactly as rendered.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Repository reads the catalog and runs the tables routes' SQL.
type Repository struct {
	db   *sql.DB
	gate *db.Gate // row reads and writes, the routes under load
}

// NewRepository wraps the pool.
func NewRepository(sqldb *sql.DB, gate *db.Gate) *Repository {
	return &Repository{db: sqldb, gate: gate}
}

// userTable is the catalog condition "a base table of public".
const userTable = `c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')`

// metaSQL loads a table's metadata in one round trip, as one JSON document.
const metaSQL = `SELECT json_build_object(
  'oid', c.oid::bigint,
  'name', c.relname,
  'description', obj_description(c.oid, 'pg_class'),
  'columns', coalesce((SELECT json_agg(json_build_object(
      'column_name', a.attname, 'data_type', ic.data_type, 'is_nullable', ic.is_nullable,
      'column_default', ic.column_default, 'character_maximum_length', ic.character_maximum_length,
      'numeric_precision', ic.numeric_precision, 'numeric_scale', ic.numeric_scale,
      'column_description', col_description(c.oid, a.attnum),
      'cast_type', format_type(a.atttypid, NULL), 'full_type', format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
    FROM pg_attribute a
    JOIN information_schema.columns ic ON ic.table_schema = 'public' AND ic.table_name = c.relname AND ic.column_name = a.attname
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]'),
  'primary_keys', coalesce((SELECT json_agg(a.attname ORDER BY k.ord)
    FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE i.indrelid = c.oid AND i.indisprimary), '[]'),
  'foreign_keys', coalesce((SELECT json_agg(json_build_object('column_name', a.attname, 'foreign_table_name', fc.relname,
      'foreign_column_name', fa.attname) ORDER BY con.conname, k.ord)
    FROM pg_constraint con CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY k(col, fcol, ord)
    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.col
    JOIN pg_class fc ON fc.oid = con.confrelid
    JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = k.fcol
    WHERE con.conrelid = c.oid AND con.contype = 'f'), '[]'),
  'indexes', coalesce((SELECT json_agg(json_build_object('index_name', ix.relname, 'column_name', a.attname,
      'is_unique', i.indisunique, 'is_primary', i.indisprimary) ORDER BY ix.relname, k.ord)
    FROM pg_index i JOIN pg_class ix ON ix.oid = i.indexrelid
    CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE i.indrelid = c.oid), '[]')
)::text
FROM pg_class c WHERE ` + userTable + ` AND c.relname = $1`

// LoadMeta reads a table's metadata and policy, giving a table seen for the
// first time the default policy. It returns nil, nil for no such user table.
func (r *Repository) LoadMeta(ctx context.Context, name string) (*Meta, error) {
	var doc string
	err := r.db.QueryRowContext(ctx, metaSQL, name).Scan(&doc)
	if db.ErrNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, db.Err(err)
	}
	m := &Meta{}
	if err := json.Unmarshal([]byte(doc), m); err != nil {
		return nil, err
	}
	p, err := r.policy(ctx, r.db, name)
	if err != nil {
		return nil, err
	}
	m.stored, m.Policy = p, p.Effective()
	return m, nil
}

// policy reads a table's stored policy (unset levels ""), creating the
// default one when missing.
func (r *Repository) policy(ctx context.Context, q queryer, name string) (Policy, error) {
	const sel = `SELECT read_level, insert_level, coalesce(update_level, ''), coalesce(delete_level, ''), owner_column
FROM selfdb.table_policies WHERE table_name = $1`
	for range 2 {
		var p Policy
		err := q.QueryRowContext(ctx, sel, name).Scan(&p.Read, &p.Insert, &p.Update, &p.Delete, &p.OwnerColumn)
		if err == nil {
			return p, nil
		}
		if !db.ErrNoRows(err) {
			return p, db.Err(err)
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO selfdb.table_policies (table_name, table_oid)
VALUES ($1, (SELECT c.oid FROM pg_class c WHERE `+userTable+` AND c.relname = $1)) ON CONFLICT DO NOTHING`, name); err != nil {
			return p, db.Err(err)
		}
	}
	return DefaultPolicy(), nil
}

// SavePolicy writes a table's stored policy (an unset update or delete
// level stays unset: NULL).
func (r *Repository) SavePolicy(ctx context.Context, q queryer, name string, p Policy) error {
	_, err := q.ExecContext(ctx, `INSERT INTO selfdb.table_policies (table_name, read_level, insert_level, update_level, delete_level, owner_column, table_oid)
VALUES ($1, $2, $3, $4, $5, $6, (SELECT c.oid FROM pg_class c WHERE `+userTable+` AND c.relname = $1))
ON CONFLICT (table_name) DO UPDATE SET read_level = EXCLUDED.read_level, insert_level = EXCLUDED.insert_level,
  update_level = EXCLUDED.update_level, delete_level = EXCLUDED.delete_level, owner_column = EXCLUDED.owner_column,
  table_oid = EXCLUDED.table_oid, updated_at = now()`,
		name, string(p.Read), string(p.Insert), nullLevel(p.Update), nullLevel(p.Delete), nullString(p.OwnerColumn))
	return db.Err(err)
}

func nullLevel(l Level) any {
	if l == "" {
		return nil
	}
	return string(l)
}

func nullString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// List returns every user table with its effective policy (the default
// when none is stored).
func (r *Repository) List(ctx context.Context) ([]TableSummary, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT c.relname, obj_description(c.oid, 'pg_class'), pg_total_relation_size(c.oid),
  (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  coalesce(p.read_level, ''), coalesce(p.insert_level, ''),
  coalesce(p.update_level, ''), coalesce(p.delete_level, ''), p.owner_column
FROM pg_class c LEFT JOIN selfdb.table_policies p ON p.table_name = c.relname
WHERE `+userTable+` ORDER BY c.relname`)
	if err != nil {
		return nil, db.Err(err)
	}
	defer rows.Close()
	out := []TableSummary{}
	for rows.Next() {
		var t TableSummary
		if err := rows.Scan(&t.Name, &t.Description, &t.Size, &t.ColumnCount,
			&t.Access.Read, &t.Access.Insert, &t.Access.Update, &t.Access.Delete, &t.Access.OwnerColumn); err != nil {
			return nil, db.Err(err)
		}
		t.Access = t.Access.Effective()
		out = append(out, t)
	}
	return out, db.Err(rows.Err())
}

// RowCount counts a table's rows exactly while small, else returns the
// planner's estimate (estimated = true).
func (r *Repository) RowCount(ctx context.Context, m *Meta) (n int64, estimated bool, err error) {
	err = r.db.QueryRowContext(ctx, `SELECT c.reltuples >= `+strconv.Itoa(exactCountBelow)+`,
  CASE WHEN c.reltuples >= `+strconv.Itoa(exactCountBelow)+` THEN c.reltuples::bigint ELSE (SELECT count(*) FROM `+qualified(m.Name)+`) END
FROM pg_class c WHERE c.oid = `+strconv.FormatUint(uint64(m.OID), 10)).Scan(&estimated, &n)
	return n, estimated, db.Err(err)
}

// Count counts the rows matching cond exactly.
func (r *Repository) Count(ctx context.Context, m *Meta, cond string) (int64, error) {
	var n int64
	err := r.db.QueryRowContext(ctx, "SELECT count(*) FROM "+qualified(m.Name)+where([]string{cond})).Scan(&n)
	return n, db.Err(err)
}

// Page runs a listPlan.pageSQL query: the total (NULL when not counted),
// the rows as a JSON array and the last row's order key when more follow.
func (r *Repository) Page(ctx context.Context, query string) (total sql.NullInt64, rows string, last sql.NullString, err error) {
	leave, err := r.gate.Enter(ctx)
	if err != nil {
		return total, "", last, db.Err(err)
	}
	defer leave()
	err = r.db.QueryRowContext(ctx, query).Scan(&total, &rows, &last)
	return total, rows, last, db.Err(err)
}

// Estimate runs a listPlan.estimateSQL EXPLAIN and returns the planner's
// row estimate.
func (r *Repository) Estimate(ctx context.Context, query string) (int64, error) {
	leave, err := r.gate.Enter(ctx)
	if err != nil {
		return 0, db.Err(err)
	}
	defer leave()
	var doc string
	if err := r.db.QueryRowContext(ctx, query).Scan(&doc); err != nil {
		return 0, db.Err(err)
	}
	var plans []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(doc), &plans); err != nil || len(plans) == 0 {
		return 0, fmt.Errorf("tables: unreadable EXPLAIN output: %v", err)
	}
	return int64(plans[0].Plan.Rows), nil
}

// Rows runs a query returning one JSON array of rows.
func (r *Repository) Rows(ctx context.Context, query string) (string, error) {
	leave, err := r.gate.Enter(ctx)
	if err != nil {
		return "", db.Err(err)
	}
	defer leave()
	var rows string
	err = r.db.QueryRowContext(ctx, query).Scan(&rows)
	return rows, db.Err(err)
}

// Exists reports whether a user table exists.
func (r *Repository) Exists(ctx context.Context, q queryer, name string) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_class c WHERE `+userTable+` AND c.relname = $1)`, name).Scan(&ok)
	return ok, db.Err(err)
}

// ColumnExists reports whether a user table has a column.
func (r *Repository) ColumnExists(ctx context.Context, q queryer, table, column string) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE `+userTable+` AND c.relname = $1 AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped)`, table, column).Scan(&ok)
	return ok, db.Err(err)
}

// InTx runs fn in a transaction.
func (r *Repository) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return db.Err(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return db.Err(tx.Commit())
}

// ExecAll runs DDL statements in order, turning catalog errors into 4xx.
func (r *Repository) ExecAll(ctx context.Context, q queryer, stmts []string) error {
	for _, s := range stmts {
		if _, err := q.ExecContext(ctx, s); err != nil {
			return db.Err(err)
		}
	}
	return nil
}

// policySyncSQL moves policies after tables renamed in SQL (matched by OID)
// and forgets those of dropped tables (a later table of the same name
// starts from the default policy).
const policySyncSQL = `UPDATE selfdb.table_policies p SET table_name = c.relname, updated_at = now()
FROM pg_class c
WHERE c.oid = p.table_oid AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname <> p.table_name
  AND NOT EXISTS (SELECT 1 FROM pg_class o WHERE o.relnamespace = 'public'::regnamespace AND o.relname = p.table_name AND o.relkind IN ('r', 'p'))
  AND NOT EXISTS (SELECT 1 FROM selfdb.table_policies q WHERE q.table_name = c.relname);
DELETE FROM selfdb.table_policies p WHERE NOT EXISTS (SELECT 1 FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname = p.table_name)`

// SyncPolicies keeps selfdb.table_policies in step with public's tables.
func (r *Repository) SyncPolicies(ctx context.Context, q queryer) error {
	_, err := q.ExecContext(ctx, policySyncSQL)
	return db.Err(err)
}

// DeletePolicy forgets a dropped table's policy.
func (r *Repository) DeletePolicy(ctx context.Context, q queryer, name string) error {
	_, err := q.ExecContext(ctx, `DELETE FROM selfdb.table_policies WHERE table_name = $1`, name)
	return db.Err(err)
}

// RenamePolicy follows a table rename.
func (r *Repository) RenamePolicy(ctx context.Context, q queryer, from, to string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM selfdb.table_policies WHERE table_name = $1`, to); err != nil {
		return db.Err(err)
	}
	_, err := q.ExecContext(ctx, `UPDATE selfdb.table_policies SET table_name = $2, updated_at = now() WHERE table_name = $1`, from, to)
	return db.Err(err)
}

// createSQLQuery renders a table's CREATE TABLE (with constraints) and its
// other indexes. Serial columns come back as serial types.
const createSQLQuery = `SELECT
 (SELECT string_agg(format('  %I %s%s%s', a.attname,
    CASE WHEN s.seq IS NOT NULL THEN CASE a.atttypid WHEN 'int8'::regtype THEN 'bigserial' WHEN 'int2'::regtype THEN 'smallserial' ELSE 'serial' END
         ELSE format_type(a.atttypid, a.atttypmod) END,
    CASE WHEN a.attnotnull AND s.seq IS NULL THEN ' NOT NULL' ELSE '' END,
    CASE WHEN a.attidentity = 'a' THEN ' GENERATED ALWAYS AS IDENTITY'
         WHEN a.attidentity = 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY'
         WHEN d.adbin IS NOT NULL AND a.attgenerated = 's' THEN ' GENERATED ALWAYS AS (' || pg_get_expr(d.adbin, d.adrelid) || ') STORED'
         WHEN d.adbin IS NOT NULL AND s.seq IS NULL THEN ' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid) ELSE '' END), E',\n' ORDER BY a.attnum)
  FROM pg_attribute a
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN LATERAL (SELECT pg_get_serial_sequence(format('%I.%I', 'public', c.relname), a.attname) AS seq) s ON a.attidentity = ''
  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
 (SELECT string_agg(format('  CONSTRAINT %I %s', con.conname, pg_get_constraintdef(con.oid)), E',\n' ORDER BY con.contype <> 'p', con.conname)
  FROM pg_constraint con WHERE con.conrelid = c.oid AND con.contype IN ('p', 'u', 'f', 'c', 'x')),
 (SELECT string_agg(pg_get_indexdef(i.indexrelid) || ';', E'\n' ORDER BY i.indexrelid)
  FROM pg_index i WHERE i.indrelid = c.oid AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = c.oid)),
 obj_description(c.oid, 'pg_class')
FROM pg_class c WHERE c.oid = `

// CreateSQL renders GET /{t}/sql.
func (r *Repository) CreateSQL(ctx context.Context, m *Meta) (string, error) {
	var cols, cons, idx, desc sql.NullString
	err := r.db.QueryRowContext(ctx, createSQLQuery+strconv.FormatUint(uint64(m.OID), 10)).Scan(&cols, &cons, &idx, &desc)
	if err != nil {
		return "", db.Err(err)
	}
	var b strings.Builder
	b.WriteString("CREATE TABLE " + qualified(m.Name) + " (\n")
	b.WriteString(cols.String)
	if cons.String != "" {
		b.WriteString(",\n" + cons.String)
	}
	b.WriteString("\n);")
	if idx.String != "" {
		b.WriteString("\n" + idx.String)
	}
	if desc.Valid {
		if l, ok := quoteLiteral(desc.String); ok {
			b.WriteString("\nCOMMENT ON TABLE " + qualified(m.Name) + " IS " + l + ";")
		}
	}
	for _, c := range m.Columns {
		if c.Description != nil {
			if l, ok := quoteLiteral(*c.Description); ok {
				b.WriteString("\nCOMMENT ON COLUMN " + qualified(m.Name) + "." + quoteIdent(c.Name) + " IS " + l + ";")
			}
		}
	}
	return b.String(), nil
}

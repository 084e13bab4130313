package importpython

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// tableDef is a user table as the source's catalog describes it; every
// name in its SQL fragments is qualified (search_path is empty).
type tableDef struct {
	Name        string          `json:"name"`
	Kind        string          `json:"kind"`
	Partition   bool            `json:"partition"`
	Comment     *string         `json:"comment"`
	Columns     []columnDef     `json:"columns"`
	Constraints []constraintDef `json:"constraints"`
	Indexes     []indexDef      `json:"indexes"`
	Triggers    []triggerDef    `json:"triggers"`

	// Derived by analyze.
	pk     []string        // primary key columns, in key order
	fks    []constraintDef // foreign keys to user tables
	others []constraintDef // primary key, unique, check, exclusion
	refs   []string        // user tables this one references
	notes  []string        // what is not carried over, and why
}

type columnDef struct {
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	NotNull   bool    `json:"not_null"`
	Default   *string `json:"default"`
	Identity  string  `json:"identity"`  // "", "a" (always), "d" (by default)
	Generated string  `json:"generated"` // "", "s" (stored)
	Comment   *string `json:"comment"`
	Collation *string `json:"collation"`
	// The identity sequence's options, when Identity is set.
	SeqOptions *string `json:"seq_options"`
}

type constraintDef struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"` // p, u, c, x, f
	Def     string   `json:"def"`
	Columns []string `json:"columns"`
	RefName string   `json:"ref_name"`   // referenced table (foreign keys)
	RefUser bool     `json:"ref_public"` // it is in public
}

type indexDef struct {
	Name string `json:"name"`
	Def  string `json:"def"`
}

type triggerDef struct {
	Name     string `json:"name"`
	Function string `json:"function"`
}

// seqDef is a sequence of public that a user table uses (serial columns
// own theirs; others are named in defaults).
type seqDef struct {
	Name        string
	Type        string
	Start, Inc  int64
	Min, Max    int64
	Cache       int64
	Cycle       bool
	OwnerTable  string
	OwnerColumn string
	// Identity marks an identity column's sequence: created with its
	// column, only its value is carried over.
	Identity bool
	Last     int64
	Called   bool
}

// enumDef is an enum type of public used by a user table.
type enumDef struct {
	Name   string   `json:"name"`
	Labels []string `json:"labels"`
}

// schemaDef is every user table of the source and what they need.
type schemaDef struct {
	tables []*tableDef // in dependency order: referenced tables first
	byName map[string]*tableDef
	seqs   []seqDef
	enums  []enumDef
	notes  []string // objects of public that are not carried over
}

// userTablesCond is the catalog condition "a user table of public" on c.
func userTablesCond() string {
	return `c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname NOT IN ` + pythonTablesSQL()
}

// tablesSQL describes every user table as one JSON document.
func tablesSQL() string {
	return `SELECT coalesce(json_agg(json_build_object(
  'name', c.relname, 'kind', c.relkind::text, 'partition', c.relispartition,
  'comment', obj_description(c.oid, 'pg_class'),
  'columns', (SELECT json_agg(json_build_object(
      'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'not_null', a.attnotnull,
      'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
      'identity', a.attidentity::text, 'generated', a.attgenerated::text,
      'comment', col_description(c.oid, a.attnum),
      'collation', (SELECT format('%I.%I', n.nspname, co.collname) FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace
                    WHERE co.oid = a.attcollation AND a.attcollation <> ty.typcollation),
      'seq_options', CASE WHEN a.attidentity <> '' THEN (SELECT format('START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s%s',
                       s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END)
                     FROM pg_sequence s WHERE s.seqrelid = pg_get_serial_sequence(format('public.%I', c.relname), a.attname)::regclass) END,
      'gen_expr', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END
    ) ORDER BY a.attnum)
    FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  'constraints', coalesce((SELECT json_agg(json_build_object(
      'name', con.conname, 'type', con.contype::text, 'def', pg_get_constraintdef(con.oid),
      'columns', (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(n, ord)
                  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n),
      'ref_name', rc.relname, 'ref_public', rc.relnamespace = 'public'::regnamespace
    ) ORDER BY con.contype <> 'p', con.conname)
    FROM pg_constraint con LEFT JOIN pg_class rc ON rc.oid = con.confrelid
    WHERE con.conrelid = c.oid AND con.contype IN ('p', 'u', 'c', 'x', 'f')), '[]'),
  'indexes', coalesce((SELECT json_agg(json_build_object('name', ic.relname, 'def', pg_get_indexdef(i.indexrelid)) ORDER BY ic.relname)
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
    WHERE i.indrelid = c.oid AND NOT EXISTS (SELECT 1 FROM pg_constraint con
      WHERE con.conindid = i.indexrelid AND con.conrelid = c.oid AND con.contype IN ('p', 'u', 'x'))), '[]'),
  'triggers', coalesce((SELECT json_agg(json_build_object('name', g.tgname, 'function', g.tgfoid::regproc::text) ORDER BY g.tgname)
    FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal), '[]')
) ORDER BY c.relname), '[]')::text
FROM pg_class c WHERE ` + userTablesCond()
}

// generatedExpr carries a generated column's expression (decoded apart so
// that columnDef.Default stays "the default").
type generatedExpr struct {
	Name    string  `json:"name"`
	GenExpr *string `json:"gen_expr"`
}

// readSchema reads the user tables, the sequences and enum types they use,
// and what else public holds that is not carried over.
func (s *source) readSchema(ctx context.Context) (*schemaDef, error) {
	var doc string
	if err := s.conn.Conn.QueryRowContext(ctx, tablesSQL()).Scan(&doc); err != nil {
		return nil, fmt.Errorf("reading the tables' catalog: %w", err)
	}
	var tables []*tableDef
	if err := json.Unmarshal([]byte(doc), &tables); err != nil {
		return nil, err
	}
	var gens []struct {
		Name    string          `json:"name"`
		Columns []generatedExpr `json:"columns"`
	}
	if err := json.Unmarshal([]byte(doc), &gens); err != nil {
		return nil, err
	}
	for i, t := range tables {
		for j, g := range gens[i].Columns {
			if g.GenExpr != nil {
				t.Columns[j].Default = g.GenExpr
			}
		}
	}
	sc := &schemaDef{byName: map[string]*tableDef{}}
	for _, t := range tables {
		sc.byName[t.Name] = t
	}
	for _, t := range tables {
		if t.Kind == "p" || t.Partition {
			return nil, fmt.Errorf("table %s is partitioned (or a partition): the import does not carry partitioned tables over", t.Name)
		}
		t.analyze(sc)
	}
	sc.tables = dependencyOrder(tables)
	var err error
	if sc.seqs, err = s.readSequences(ctx, sc); err != nil {
		return nil, err
	}
	if sc.enums, err = s.readEnums(ctx); err != nil {
		return nil, err
	}
	if sc.notes, err = s.readLeftOut(ctx); err != nil {
		return nil, err
	}
	return sc, nil
}

// analyze sorts a table's constraints and notes what is left out.
func (t *tableDef) analyze(sc *schemaDef) {
	for _, c := range t.Constraints {
		switch {
		case c.Type == "p":
			t.pk = c.Columns
			t.others = append(t.others, c)
		case c.Type != "f":
			t.others = append(t.others, c)
		case c.RefUser && sc.byName[c.RefName] != nil:
			t.fks = append(t.fks, c)
			if c.RefName != t.Name {
				t.refs = append(t.refs, c.RefName)
			}
		case c.RefUser && isPythonTable(c.RefName):
			t.notes = append(t.notes, fmt.Sprintf("foreign key %s (to the Python table %s, whose rows now live in SelfDB's own schema) is not carried over", c.Name, c.RefName))
		default:
			t.notes = append(t.notes, fmt.Sprintf("foreign key %s (to %s, outside public) is not carried over", c.Name, c.RefName))
		}
	}
	for _, g := range t.Triggers {
		if g.Name == t.Name+"_notify_trigger" && g.Function == "public.notify_"+t.Name+"_changes" {
			continue // the Python version's notify trigger: the Go server captures changes itself
		}
		t.notes = append(t.notes, fmt.Sprintf("trigger %s (function %s) is not carried over", g.Name, g.Function))
	}
}

// dependencyOrder puts referenced tables before the tables referencing
// them (name order otherwise; cycles keep name order).
func dependencyOrder(tables []*tableDef) []*tableDef {
	byName := map[string]*tableDef{}
	for _, t := range tables {
		byName[t.Name] = t
	}
	var out []*tableDef
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(t *tableDef)
	visit = func(t *tableDef) {
		if state[t.Name] != 0 {
			return
		}
		state[t.Name] = 1
		refs := append([]string(nil), t.refs...)
		sort.Strings(refs)
		for _, r := range refs {
			if d := byName[r]; d != nil {
				visit(d)
			}
		}
		state[t.Name] = 2
		out = append(out, t)
	}
	for _, t := range tables {
		visit(t)
	}
	return out
}

// readSequences lists the sequences of public the user tables use: those
// owned by their serial columns and those named in their defaults (not the
// identity columns' own, created with the column).
func (s *source) readSequences(ctx context.Context, sc *schemaDef) ([]seqDef, error) {
	var out []seqDef
	err := s.query(ctx, `SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
  coalesce(tc.relname, ''), coalesce(a.attname, ''), coalesce(dep.deptype::text, '')
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
LEFT JOIN pg_depend dep ON dep.classid = 'pg_class'::regclass AND dep.objid = c.oid
  AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')
LEFT JOIN pg_class tc ON tc.oid = dep.refobjid
LEFT JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
WHERE c.relnamespace = 'public'::regnamespace ORDER BY c.relname`, func(rs *sql.Rows) error {
		var q seqDef
		var deptype string
		if err := rs.Scan(&q.Name, &q.Type, &q.Start, &q.Inc, &q.Min, &q.Max, &q.Cache, &q.Cycle, &q.OwnerTable, &q.OwnerColumn, &deptype); err != nil {
			return err
		}
		q.Identity = deptype == "i"
		if q.OwnerTable != "" {
			if sc.byName[q.OwnerTable] == nil {
				return nil // a Python table's, or a view's
			}
		} else if !sc.usesSequence(q.Name) {
			return nil
		}
		out = append(out, q)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading sequences: %w", err)
	}
	for i := range out {
		q := &out[i]
		if err := s.conn.Conn.QueryRowContext(ctx, "SELECT last_value, is_called FROM "+qualified(q.Name)).Scan(&q.Last, &q.Called); err != nil {
			return nil, fmt.Errorf("reading sequence %s: %w", q.Name, err)
		}
	}
	return out, nil
}

// usesSequence reports whether a user table's default names the sequence.
func (sc *schemaDef) usesSequence(name string) bool {
	needle := "'" + "public." + name + "'::regclass"
	quoted := "'" + "public." + ident(name) + "'::regclass"
	for _, t := range sc.tables {
		for _, c := range t.Columns {
			if c.Default != nil && c.Generated == "" && (strings.Contains(*c.Default, needle) || strings.Contains(*c.Default, quoted)) {
				return true
			}
		}
	}
	return false
}

// readEnums lists the enum types of public the user tables' columns use
// (directly or as arrays).
func (s *source) readEnums(ctx context.Context) ([]enumDef, error) {
	var doc string
	err := s.conn.Conn.QueryRowContext(ctx, `SELECT coalesce(json_agg(json_build_object('name', e.typname, 'labels', e.labels) ORDER BY e.typname), '[]')::text FROM (
  SELECT DISTINCT t.typname, (SELECT json_agg(l.enumlabel ORDER BY l.enumsortorder) FROM pg_enum l WHERE l.enumtypid = t.oid)::text AS labels
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type at ON at.oid = a.atttypid
  JOIN pg_type t ON t.oid = CASE WHEN at.typelem <> 0 AND at.typlen = -1 THEN at.typelem ELSE at.oid END
  WHERE `+userTablesCond()+` AND t.typtype = 'e' AND t.typnamespace = 'public'::regnamespace) e`).Scan(&doc)
	if err != nil {
		return nil, fmt.Errorf("reading enum types: %w", err)
	}
	var raw []struct {
		Name   string `json:"name"`
		Labels string `json:"labels"`
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return nil, err
	}
	out := make([]enumDef, len(raw))
	for i, r := range raw {
		out[i].Name = r.Name
		if err := json.Unmarshal([]byte(r.Labels), &out[i].Labels); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readLeftOut names the objects of public that are not carried over: views,
// materialized views, foreign tables and functions other than the Python
// version's notify functions.
func (s *source) readLeftOut(ctx context.Context) ([]string, error) {
	var notes []string
	err := s.query(ctx, `SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'foreign table' END || ' ' || c.relname
FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('v', 'm', 'f')
UNION ALL
SELECT 'function ' || p.proname FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace AND NOT (p.proname LIKE 'notify\_%\_changes' AND p.prorettype = 'trigger'::regtype)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1`, func(rs *sql.Rows) error {
		var n string
		if err := rs.Scan(&n); err != nil {
			return err
		}
		notes = append(notes, n+" is not carried over")
		return nil
	})
	return notes, err
}

// columnList is the table's columns that take values (not generated ones).
func (t *tableDef) columnList() string {
	var cols []string
	for _, c := range t.Columns {
		if c.Generated == "" {
			cols = append(cols, ident(c.Name))
		}
	}
	return strings.Join(cols, ", ")
}

// keyExpr is the text of a row's primary key, alike on both sides.
func (t *tableDef) keyExpr(alias string) string {
	if len(t.pk) == 1 {
		return alias + "." + ident(t.pk[0]) + "::text"
	}
	parts := make([]string, len(t.pk))
	for i, c := range t.pk {
		parts[i] = alias + "." + ident(c)
	}
	return "ROW(" + strings.Join(parts, ", ") + ")::text"
}

// column returns a column by name.
func (t *tableDef) column(name string) *columnDef {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// hasAlwaysIdentity reports whether some column is GENERATED ALWAYS AS IDENTITY.
func (t *tableDef) hasAlwaysIdentity() bool {
	for _, c := range t.Columns {
		if c.Identity == "a" {
			return true
		}
	}
	return false
}

// signature is the table's shape as far as data goes: column names and
// types in order. A table whose signature changed since it was imported is
// not synced (the import does not alter existing tables).
func (t *tableDef) signature() string {
	parts := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		parts[i] = c.Name + " " + c.Type
	}
	return strings.Join(parts, ", ")
}

// createSQL is the table's CREATE TABLE without constraints (added after
// the data, as pg_dump does).
func (t *tableDef) createSQL() string {
	var cols []string
	for _, c := range t.Columns {
		def := ident(c.Name) + " " + c.Type
		if c.Collation != nil {
			def += " COLLATE " + *c.Collation
		}
		switch {
		case c.Generated == "s" && c.Default != nil:
			def += " GENERATED ALWAYS AS (" + *c.Default + ") STORED"
		case c.Identity != "":
			kind := "BY DEFAULT"
			if c.Identity == "a" {
				kind = "ALWAYS"
			}
			def += " GENERATED " + kind + " AS IDENTITY"
			if c.SeqOptions != nil {
				def += " (" + *c.SeqOptions + ")"
			}
		case c.Default != nil:
			def += " DEFAULT " + *c.Default
		}
		if c.NotNull {
			def += " NOT NULL"
		}
		cols = append(cols, "  "+def)
	}
	return "CREATE TABLE " + qualified(t.Name) + " (\n" + strings.Join(cols, ",\n") + "\n)"
}

// afterDataSQL adds the keys, checks, indexes and comments (not the
// foreign keys: those come once every table is loaded).
func (t *tableDef) afterDataSQL() []string {
	var out []string
	for _, c := range t.others {
		out = append(out, "ALTER TABLE "+qualified(t.Name)+" ADD CONSTRAINT "+ident(c.Name)+" "+c.Def)
	}
	for _, ix := range t.Indexes {
		out = append(out, ix.Def)
	}
	if t.Comment != nil {
		out = append(out, "COMMENT ON TABLE "+qualified(t.Name)+" IS "+lit(*t.Comment))
	}
	for _, c := range t.Columns {
		if c.Comment != nil {
			out = append(out, "COMMENT ON COLUMN "+qualified(t.Name)+"."+ident(c.Name)+" IS "+lit(*c.Comment))
		}
	}
	return out
}

// fkSQL adds the foreign keys.
func (t *tableDef) fkSQL() []string {
	var out []string
	for _, c := range t.fks {
		out = append(out, "ALTER TABLE "+qualified(t.Name)+" ADD CONSTRAINT "+ident(c.Name)+" "+c.Def)
	}
	return out
}

// createSQL is the sequence's CREATE SEQUENCE.
func (q *seqDef) createSQL() string {
	s := fmt.Sprintf("CREATE SEQUENCE %s AS %s START WITH %d INCREMENT BY %d MINVALUE %d MAXVALUE %d CACHE %d",
		qualified(q.Name), q.Type, q.Start, q.Inc, q.Min, q.Max, q.Cache)
	if q.Cycle {
		s += " CYCLE"
	}
	return s
}

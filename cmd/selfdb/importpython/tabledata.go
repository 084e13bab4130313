package importpython

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/selfdb/selfdb/modules/tables"
)

// checksum is a table's row count and two 64-bit sums of its rows' md5: a
// fingerprint of the table's content that does not depend on row order.
type checksum struct {
	Rows   int64
	S1, S2 string
}

func (c checksum) String() string { return fmt.Sprintf("%d rows, checksum %s/%s", c.Rows, c.S1, c.S2) }

// checksumSQL computes the checksum of a table.
func checksumSQL(name string) string {
	return `SELECT count(*), coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint), 0)::text,
  coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint), 0)::text
FROM (SELECT md5(x::text) AS h FROM ` + qualified(name) + ` x) s`
}

// queryRower runs one-row queries (a source or target connection).
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func tableChecksum(ctx context.Context, q queryRower, name string) (checksum, error) {
	var c checksum
	err := q.QueryRowContext(ctx, checksumSQL(name)).Scan(&c.Rows, &c.S1, &c.S2)
	return c, err
}

// tablePlan is what a run does to one user table.
type tablePlan struct {
	def   *tableDef
	isNew bool // created by this run
	drop  bool // imported before, gone from the source

	srcRows                int64
	inserts, updates, dels int64
	replace                bool // no primary key: copied whole
	staged                 bool // the rows to write are in its staging table already
	gone                   bool // the keys to delete are in its _imp_gone table
	n                      int  // suffix of its temporary tables
	policy                 *tables.Policy
}

// changed reports whether the run writes the table's rows.
func (p *tablePlan) changed() bool {
	return p.isNew || p.drop || p.replace || p.inserts+p.updates+p.dels > 0
}

// targetSignature is an existing target table's columns, as signature() prints them.
func (im *importer) targetSignature(ctx context.Context, name string) (string, error) {
	var sig sql.NullString
	err := im.tgt.Conn.QueryRowContext(ctx, `SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
FROM pg_attribute a WHERE a.attrelid = `+lit("public."+ident(name))+`::regclass AND a.attnum > 0 AND NOT a.attisdropped`).Scan(&sig)
	return sig.String, err
}

// planExisting finds what differs between an imported table and the
// source: by the rows written since the last run when it can (planSince),
// else by comparing every row (planByHash).
func (im *importer) planExisting(ctx context.Context, p *tablePlan) error {
	t := p.def
	sig, err := im.targetSignature(ctx, t.Name)
	if err != nil {
		return err
	}
	if sig != t.signature() {
		return &problem{fmt.Sprintf("table %s: its columns changed on the source since it was imported (source: %s; target: %s); the import does not alter tables: make the same change on the target (SQL console), then run again",
			t.Name, t.signature(), sig)}
	}
	// --verify compares everything; a table the Go server wrote to (--force)
	// differs from the last run's result in ways the source cannot tell.
	if len(t.pk) > 0 && im.state.since > 0 && !im.opts.Verify && !im.written[t.Name] {
		ok, err := im.planSince(ctx, p)
		if err != nil || ok {
			return err
		}
	}
	return im.planByHash(ctx, p)
}

// planSince finds the rows written on the source since the last run's
// snapshot (their xmin is at or past its xmin: everything older was in
// that snapshot, hence imported), keeps those that are new or differ in a
// staging table, and counts the rows gone from the source: after the
// upserts the target holds every source key, so the surplus of the counts
// is the deleted rows; only then are the source's keys streamed over to
// find them. It reports false when the counts do not add up (the target
// lost rows), and the table is then compared row by row.
func (im *importer) planSince(ctx context.Context, p *tablePlan) (bool, error) {
	t := p.def
	im.tmpN++
	p.n = im.tmpN
	cols := t.columnList()
	stage := fmt.Sprintf("pg_temp._imp_stage_%d", p.n)
	if _, err := im.tgt.Conn.ExecContext(ctx, fmt.Sprintf("CREATE TEMP TABLE _imp_stage_%d ON COMMIT DROP AS SELECT %s FROM %s WITH NO DATA", p.n, cols, qualified(t.Name))); err != nil {
		return false, err
	}
	_, _, err := pipeCopy(ctx, im.src.conn, im.tgt,
		"COPY (SELECT "+prefixed("x", t)+" FROM "+qualified(t.Name)+" x WHERE "+im.src.writtenSince(im.state.since)+") TO STDOUT",
		"COPY "+stage+" ("+cols+") FROM STDIN", nil)
	if err != nil {
		return false, fmt.Errorf("table %s: reading the rows written since the last run: %w", t.Name, err)
	}
	var on []string
	for _, c := range t.pk {
		on = append(on, "x."+ident(c)+" = s."+ident(c))
	}
	first := "x." + ident(t.pk[0])
	for _, q := range []string{
		fmt.Sprintf(`CREATE TEMP TABLE _imp_diff_%d ON COMMIT DROP AS SELECT %s AS k, (%s IS NULL) AS is_new FROM %s s
LEFT JOIN %s x ON %s WHERE %s IS NULL OR ROW(%s)::text IS DISTINCT FROM ROW(%s)::text`,
			p.n, t.keyExpr("s"), first, stage, qualified(t.Name), strings.Join(on, " AND "), first, prefixed("s", t), prefixed("x", t)),
		fmt.Sprintf(`DELETE FROM %s s WHERE NOT EXISTS (SELECT 1 FROM pg_temp._imp_diff_%d d WHERE d.k = %s)`, stage, p.n, t.keyExpr("s")),
	} {
		if _, err := im.tgt.Conn.ExecContext(ctx, q); err != nil {
			return false, fmt.Errorf("table %s: %w", t.Name, err)
		}
	}
	if err := im.tgt.Conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) FROM pg_temp._imp_diff_%d`, p.n)).
		Scan(&p.inserts, &p.updates); err != nil {
		return false, err
	}
	var targetRows int64
	if err := im.src.conn.Conn.QueryRowContext(ctx, "SELECT count(*) FROM "+qualified(t.Name)).Scan(&p.srcRows); err != nil {
		return false, err
	}
	if err := im.tgt.Conn.QueryRowContext(ctx, "SELECT count(*) FROM "+qualified(t.Name)).Scan(&targetRows); err != nil {
		return false, err
	}
	gone := targetRows + p.inserts - p.srcRows
	switch {
	case gone < 0:
		p.inserts, p.updates = 0, 0
		return false, nil
	case gone == 0:
		p.staged = true
		return true, nil
	}
	// The keys travel typed when there is one key column (compared
	// without a cast, by the key's own equality).
	keyType, keyOf, keyCol := "text", t.keyExpr("x"), t.keyExpr("x")
	if len(t.pk) == 1 {
		keyType, keyOf, keyCol = t.column(t.pk[0]).Type, "x."+ident(t.pk[0]), "x."+ident(t.pk[0])
	}
	keys := fmt.Sprintf("pg_temp._imp_keys_%d", p.n)
	if _, err := im.tgt.Conn.ExecContext(ctx, fmt.Sprintf("CREATE TEMP TABLE _imp_keys_%d (k %s NOT NULL) ON COMMIT DROP", p.n, keyType)); err != nil {
		return false, err
	}
	if _, _, err := pipeCopy(ctx, im.src.conn, im.tgt, "COPY (SELECT "+keyOf+" FROM "+qualified(t.Name)+" x) TO STDOUT",
		"COPY "+keys+" (k) FROM STDIN", nil); err != nil {
		return false, fmt.Errorf("table %s: comparing keys: %w", t.Name, err)
	}
	for _, q := range []string{
		"ANALYZE " + keys,
		fmt.Sprintf("CREATE TEMP TABLE _imp_gone_%d ON COMMIT DROP AS SELECT %s AS k FROM %s x WHERE NOT EXISTS (SELECT 1 FROM %s s WHERE s.k = %s)",
			p.n, keyCol, qualified(t.Name), keys, keyCol),
	} {
		if _, err := im.tgt.Conn.ExecContext(ctx, q); err != nil {
			return false, fmt.Errorf("table %s: %w", t.Name, err)
		}
	}
	if err := im.tgt.Conn.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM pg_temp._imp_gone_%d", p.n)).Scan(&p.dels); err != nil {
		return false, err
	}
	p.staged, p.gone = true, true
	return true, nil
}

// planByHash compares an imported table with the source by checksum and,
// when they differ, finds the rows that differ: the source's keys and row
// hashes are streamed into a temporary table of the target and joined
// with the target's own.
func (im *importer) planByHash(ctx context.Context, p *tablePlan) error {
	t := p.def
	src, err := tableChecksum(ctx, im.src.conn.Conn, t.Name)
	if err != nil {
		return fmt.Errorf("table %s: source checksum: %w", t.Name, err)
	}
	p.srcRows = src.Rows
	dst, err := tableChecksum(ctx, im.tgt.Conn, t.Name)
	if err != nil {
		return fmt.Errorf("table %s: target checksum: %w", t.Name, err)
	}
	if src == dst {
		return nil
	}
	if len(t.pk) == 0 {
		p.replace, p.inserts, p.dels = true, src.Rows, dst.Rows
		return nil
	}
	im.tmpN++
	p.n = im.tmpN
	keys := fmt.Sprintf("pg_temp._imp_src_%d", p.n)
	if _, err := im.tgt.Conn.ExecContext(ctx, fmt.Sprintf("CREATE TEMP TABLE _imp_src_%d (k text NOT NULL, h text NOT NULL) ON COMMIT DROP", p.n)); err != nil {
		return err
	}
	_, _, err = pipeCopy(ctx, im.src.conn, im.tgt,
		"COPY (SELECT "+t.keyExpr("x")+", md5(x::text) FROM "+qualified(t.Name)+" x) TO STDOUT",
		"COPY "+keys+" (k, h) FROM STDIN", nil)
	if err != nil {
		return fmt.Errorf("table %s: comparing keys: %w", t.Name, err)
	}
	stmts := []string{
		"ANALYZE " + keys,
		fmt.Sprintf(`CREATE TEMP TABLE _imp_diff_%d ON COMMIT DROP AS SELECT s.k, (t.k IS NULL) AS is_new FROM %s s
LEFT JOIN (SELECT %s AS k, md5(x::text) AS h FROM %s x) t ON t.k = s.k WHERE t.k IS NULL OR t.h <> s.h`, p.n, keys, t.keyExpr("x"), qualified(t.Name)),
	}
	for _, s := range stmts {
		if _, err := im.tgt.Conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("table %s: %w", t.Name, err)
		}
	}
	err = im.tgt.Conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) FROM pg_temp._imp_diff_%d`, p.n)).
		Scan(&p.inserts, &p.updates)
	if err != nil {
		return err
	}
	return im.tgt.Conn.QueryRowContext(ctx, "SELECT count(*) FROM "+qualified(t.Name)+" x WHERE NOT EXISTS (SELECT 1 FROM "+keys+" s WHERE s.k = "+t.keyExpr("x")+")").
		Scan(&p.dels)
}

// disableCapture stops the change capture of a table until enableCapture:
// imported rows are history from the Python side, not changes to deliver,
// and a 1-million-row import would otherwise write 1 million change-log
// rows. Both happen inside the run's transaction, so no other session ever
// sees the trigger disabled.
func (im *importer) disableCapture(ctx context.Context, name string) error {
	var on bool
	err := im.tgt.Conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = `+lit(qualified(name))+`::regclass
  AND tgname = 'selfdb_capture' AND tgenabled <> 'D')`).Scan(&on)
	if err != nil || !on {
		return err
	}
	if _, err := im.tgt.Conn.ExecContext(ctx, "ALTER TABLE "+qualified(name)+" DISABLE TRIGGER selfdb_capture"); err != nil {
		return err
	}
	im.disabled = append(im.disabled, name)
	return nil
}

// enableCapture turns the capture back on and attaches it to new tables
// that lack it (a target without event triggers).
func (im *importer) enableCapture(ctx context.Context) error {
	for _, name := range im.disabled {
		if _, err := im.tgt.Conn.ExecContext(ctx, "ALTER TABLE "+qualified(name)+" ENABLE TRIGGER selfdb_capture"); err != nil {
			return err
		}
	}
	_, err := im.tgt.Conn.ExecContext(ctx, "SELECT selfdb.ensure_capture()")
	return err
}

// copyProgress prints a progress line of a long COPY.
func (im *importer) copyProgress(name string, start time.Time) func(rows, bytes int64) {
	return func(rows, bytes int64) {
		secs := time.Since(start).Seconds()
		im.out.line("  table %s: %d rows so far (%.0f rows/s, %s/s)", name, rows, float64(rows)/secs, human(int64(float64(bytes)/secs)))
	}
}

// loadNew creates a new table and copies every row into it.
func (im *importer) loadNew(ctx context.Context, p *tablePlan) error {
	t := p.def
	if _, err := im.tgt.Conn.ExecContext(ctx, t.createSQL()); err != nil {
		return fmt.Errorf("table %s: creating it: %s", t.Name, pgMessage(err))
	}
	if err := im.disableCapture(ctx, t.Name); err != nil {
		return err
	}
	start := time.Now()
	cols := t.columnList()
	rows, bytes, err := pipeCopy(ctx, im.src.conn, im.tgt,
		"COPY "+qualified(t.Name)+" ("+cols+") TO STDOUT",
		"COPY "+qualified(t.Name)+" ("+cols+") FROM STDIN", im.copyProgress(t.Name, start))
	if err != nil {
		return fmt.Errorf("table %s: copying rows: %w", t.Name, err)
	}
	p.inserts = rows
	im.stats.rows += rows
	im.stats.rowBytes += bytes
	// Statistics now, not when autovacuum gets there: the tables routes
	// count small tables exactly by pg_class.reltuples.
	for _, s := range append(t.afterDataSQL(), "ANALYZE "+qualified(t.Name)) {
		if _, err := im.tgt.Conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("table %s: %s: %s", t.Name, firstWords(s), pgMessage(err))
		}
	}
	im.out.line("table %s: created, %d rows copied in %s", t.Name, rows, time.Since(start).Round(time.Millisecond))
	return nil
}

// deleteGone deletes the rows of an imported table that are gone from the
// source (children before parents: the caller goes in reverse order).
func (im *importer) deleteGone(ctx context.Context, p *tablePlan) error {
	t := p.def
	var err error
	switch {
	case p.replace:
		_, err = im.tgt.Conn.ExecContext(ctx, "DELETE FROM "+qualified(t.Name))
	case p.dels > 0 && p.gone && len(t.pk) == 1:
		_, err = im.tgt.Conn.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s x WHERE x.%s IN (SELECT k FROM pg_temp._imp_gone_%d)", qualified(t.Name), ident(t.pk[0]), p.n))
	case p.dels > 0 && p.gone:
		_, err = im.tgt.Conn.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s x WHERE %s IN (SELECT k FROM pg_temp._imp_gone_%d)", qualified(t.Name), t.keyExpr("x"), p.n))
	case p.dels > 0:
		_, err = im.tgt.Conn.ExecContext(ctx, "DELETE FROM "+qualified(t.Name)+" x WHERE NOT EXISTS (SELECT 1 FROM "+
			fmt.Sprintf("pg_temp._imp_src_%d", p.n)+" s WHERE s.k = "+t.keyExpr("x")+")")
	}
	if err != nil {
		return fmt.Errorf("table %s: deleting rows gone from the source: %s", t.Name, pgMessage(err))
	}
	return nil
}

// keyBatch is how many keys one source query fetches.
const keyBatch = 5000

// fetchChanged copies the new and changed rows a row-by-row comparison
// found (their keys are in the diff) from the source into a staging table,
// by key.
func (im *importer) fetchChanged(ctx context.Context, p *tablePlan) error {
	t := p.def
	cols := t.columnList()
	var keys []string
	err := queryEach(ctx, im.tgt, fmt.Sprintf("SELECT k FROM pg_temp._imp_diff_%d", p.n), func(rs *sql.Rows) error {
		var k string
		err := rs.Scan(&k)
		keys = append(keys, k)
		return err
	})
	if err != nil {
		return err
	}
	stage := fmt.Sprintf("pg_temp._imp_stage_%d", p.n)
	if _, err := im.tgt.Conn.ExecContext(ctx, fmt.Sprintf("CREATE TEMP TABLE _imp_stage_%d ON COMMIT DROP AS SELECT %s FROM %s WITH NO DATA", p.n, cols, qualified(t.Name))); err != nil {
		return err
	}
	for len(keys) > 0 {
		n := min(len(keys), keyBatch)
		batch := keys[:n]
		keys = keys[n:]
		var match string
		if len(t.pk) == 1 {
			match = "x." + ident(t.pk[0]) + " = ANY(" + arrayLit(batch) + "::" + t.column(t.pk[0]).Type + "[])"
		} else {
			match = t.keyExpr("x") + " = ANY(" + arrayLit(batch) + ")"
		}
		if _, _, err := pipeCopy(ctx, im.src.conn, im.tgt,
			"COPY (SELECT "+prefixed("x", t)+" FROM "+qualified(t.Name)+" x WHERE "+match+") TO STDOUT",
			"COPY "+stage+" ("+cols+") FROM STDIN", nil); err != nil {
			return fmt.Errorf("table %s: fetching changed rows: %w", t.Name, err)
		}
	}
	return nil
}

// upsertChanged writes the new and changed rows of an imported table: from
// the staging table (filled by planSince, or here by fetchChanged), inserted
// or updated by primary key. A table without one is copied whole.
func (im *importer) upsertChanged(ctx context.Context, p *tablePlan) error {
	t := p.def
	cols := t.columnList()
	if p.replace {
		rows, bytes, err := pipeCopy(ctx, im.src.conn, im.tgt,
			"COPY "+qualified(t.Name)+" ("+cols+") TO STDOUT",
			"COPY "+qualified(t.Name)+" ("+cols+") FROM STDIN", im.copyProgress(t.Name, time.Now()))
		if err != nil {
			return fmt.Errorf("table %s: copying rows: %w", t.Name, err)
		}
		im.stats.rows += rows
		im.stats.rowBytes += bytes
		return nil
	}
	if p.inserts+p.updates == 0 {
		return nil
	}
	if !p.staged {
		if err := im.fetchChanged(ctx, p); err != nil {
			return err
		}
	}
	pk := make([]string, len(t.pk))
	for i, c := range t.pk {
		pk[i] = ident(c)
	}
	var sets []string
	for _, c := range t.Columns {
		if c.Generated == "" && !contains(t.pk, c.Name) {
			sets = append(sets, ident(c.Name)+" = EXCLUDED."+ident(c.Name))
		}
	}
	action := "DO NOTHING"
	if len(sets) > 0 {
		action = "DO UPDATE SET " + strings.Join(sets, ", ")
	}
	overriding := ""
	if t.hasAlwaysIdentity() {
		overriding = " OVERRIDING SYSTEM VALUE"
	}
	q := "INSERT INTO " + qualified(t.Name) + " (" + cols + ")" + overriding + " SELECT " + cols + " FROM " +
		fmt.Sprintf("pg_temp._imp_stage_%d", p.n) + " ON CONFLICT (" + strings.Join(pk, ", ") + ") " + action
	res, err := im.tgt.Conn.ExecContext(ctx, q)
	if err != nil {
		return fmt.Errorf("table %s: writing changed rows: %s", t.Name, pgMessage(err))
	}
	n, _ := res.RowsAffected()
	im.stats.rows += n
	return nil
}

// prefixed is the value columns of t qualified by alias.
func prefixed(alias string, t *tableDef) string {
	var cols []string
	for _, c := range t.Columns {
		if c.Generated == "" {
			cols = append(cols, alias+"."+ident(c.Name))
		}
	}
	return strings.Join(cols, ", ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// firstWords is the start of a statement, for messages.
func firstWords(s string) string {
	f := strings.Fields(s)
	if len(f) > 6 {
		f = f[:6]
	}
	return strings.Join(f, " ")
}

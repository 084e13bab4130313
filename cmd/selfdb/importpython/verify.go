package importpython

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/google/uuid"
)

// secretColumns are compared but never printed.
var secretColumns = map[string]bool{"hashed_password": true, "token_hash": true, "value": true, "code": true}

// fieldDiff names the columns in which two rows differ, with both values
// unless secret.
func fieldDiff(want, got any) string {
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	var out []string
	for i := 0; i < wv.NumField(); i++ {
		f := wv.Type().Field(i)
		col, _, _ := strings.Cut(f.Tag.Get("bun"), ",")
		if col == "" || strings.HasPrefix(col, "table:") || col == "id" {
			continue
		}
		a, b := sig(wv.Field(i).Interface()), sig(gv.Field(i).Interface())
		if a == b {
			continue
		}
		if secretColumns[col] {
			out = append(out, col)
		} else {
			out = append(out, fmt.Sprintf("%s (source %s, target %s)", col, strings.TrimSuffix(a, "|"), strings.TrimSuffix(b, "|")))
		}
	}
	return strings.Join(out, ", ")
}

// report lists what differs about one kind of object.
func report[T keyed](d objectDiff[T], actual map[string]T, noun string, diffs *[]string) {
	for _, w := range d.upserts {
		a, ok := actual[w.key()]
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s %s (%s): missing on the target", noun, w.label(), w.key()))
			continue
		}
		*diffs = append(*diffs, fmt.Sprintf("%s %s (%s): differs: %s", noun, w.label(), w.key(), fieldDiff(w, a)))
	}
	for _, id := range d.deletes {
		*diffs = append(*diffs, fmt.Sprintf("%s %s (%s): gone from the source, still on the target", noun, actual[id.String()].label(), id))
	}
}

// verify compares source and target: users and their flags, refresh
// tokens, buckets, files (every file's bytes, hashed on both sides), user
// tables (structure, row count and checksum, and the first differing keys),
// sequences, snippets and functions. It writes nothing (temporary tables
// aside, in a transaction it rolls back).
func (im *importer) verify(ctx context.Context) error {
	var migrated bool
	if err := im.tgt.Conn.QueryRowContext(ctx, "SELECT to_regclass('selfdb.import_python_objects') IS NOT NULL").Scan(&migrated); err != nil {
		return err
	}
	if !migrated {
		im.out.line("verify: the target has never been imported into (no selfdb.import_python_objects)")
		return ErrDifferent
	}
	if _, err := im.tgt.Conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	defer im.tgt.Conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck
	var err error
	if im.state, err = loadState(ctx, im.tgt); err != nil {
		return err
	}
	snap, err := im.src.read(ctx)
	if err != nil {
		return err
	}
	sc, err := im.src.readSchema(ctx)
	if err != nil {
		return err
	}
	var diffs, notes []string
	ap, err := im.planAccounts(ctx, snap)
	if err != nil {
		return err
	}
	sp, err := im.planStorage(ctx, snap, ap)
	if err != nil {
		return err
	}
	fp, err := im.planFunctions(ctx, snap, ap)
	if err != nil {
		return err
	}
	scp, err := im.planSchema(ctx, sc)
	if err != nil {
		return err
	}
	diffs = append(diffs, im.problems.list...)
	users, _ := loadAll[userRow](ctx, im.tgt)
	report(ap.users, users, "user", &diffs)
	tokens, _ := loadAll[tokenRow](ctx, im.tgt)
	report(ap.tokens, tokens, "refresh token", &diffs)
	snippets, _ := loadAll[snippetRow](ctx, im.tgt)
	report(ap.snippets, snippets, "SQL snippet", &diffs)
	buckets, _ := loadAll[bucketRow](ctx, im.tgt)
	report(sp.buckets, buckets, "bucket", &diffs)
	fileRows, _ := loadAll[fileRow](ctx, im.tgt)
	report(sp.files, fileRows, "file", &diffs)
	if fp != nil {
		fns, _ := loadAll[functionRow](ctx, im.tgt)
		report(fp.funcs, fns, "function", &diffs)
		vs, _ := loadAll[versionRow](ctx, im.tgt)
		report(fp.versions, vs, "function version", &diffs)
		env, _ := loadAll[envRow](ctx, im.tgt)
		report(fp.env, env, "function env var", &diffs)
	}
	notes = append(notes, sp.missing...)
	bytes, hashed, err := im.verifyBytes(snap, sp, fileRows, &diffs)
	if err != nil {
		return err
	}
	var rows int64
	for _, t := range scp.tables {
		rows += t.srcRows
		switch {
		case t.isNew:
			diffs = append(diffs, fmt.Sprintf("table %s: missing on the target", t.def.Name))
		case t.changed():
			msg := fmt.Sprintf("table %s: rows differ (%d on the source): %d missing on the target, %d different, %d only on the target",
				t.def.Name, t.srcRows, t.inserts, t.updates, t.dels)
			if t.replace {
				msg = fmt.Sprintf("table %s: rows differ (%d on the source; no primary key, so no keys to name)", t.def.Name, t.srcRows)
			} else if keys, err := im.differingKeys(ctx, t); err == nil && keys != "" {
				msg += "; e.g. " + keys
			}
			diffs = append(diffs, msg)
		}
	}
	for _, d := range scp.drops {
		diffs = append(diffs, fmt.Sprintf("table %s: gone from the source, still on the target", d))
	}
	for _, q := range sc.seqs {
		m, err := im.sequenceMove(ctx, q)
		if err != nil {
			return err
		}
		if m != nil {
			diffs = append(diffs, fmt.Sprintf("sequence %s: the target's is not where the source's is (source %d, called %t)", m.name, m.last, m.called))
		}
	}
	for _, n := range notes {
		im.out.line("note: %s", n)
	}
	if len(diffs) > 0 {
		im.out.line("verify: %d differences:", len(diffs))
		for _, d := range diffs {
			im.out.line("  - %s", d)
		}
		return ErrDifferent
	}
	funcs := 0
	if snap.funcs != nil {
		funcs = len(snap.funcs.funcs)
	}
	im.out.line("verify: the target matches the source: %d users, %d buckets, %d files (%s, %d hashed on both sides), %d tables (%d rows), %d SQL snippets, %d functions",
		len(snap.users), len(snap.buckets), len(snap.files), human(bytes), hashed, len(sc.tables), rows, len(snap.snippets), funcs)
	return nil
}

// verifyBytes hashes every file's bytes on both sides: a ready target file
// must hold the source's bytes, and its recorded size and checksum must be
// those of the bytes it holds.
func (im *importer) verifyBytes(snap *snapshot, sp *storagePlan, rows map[string]fileRow, diffs *[]string) (int64, int, error) {
	if len(snap.files) > 0 && im.opts.FromStorage == "" {
		*diffs = append(*diffs, "file bytes not compared: give --from-storage")
		return 0, 0, nil
	}
	copying := map[uuid.UUID]bool{}
	for _, c := range sp.copies {
		copying[c.id] = !c.always // a row difference, reported already
	}
	byID := map[uuid.UUID]pyBucket{}
	byName := map[string]pyBucket{}
	for _, b := range snap.buckets {
		byID[b.ID], byName[b.Name] = b, b
	}
	var total int64
	hashed := 0
	for _, f := range snap.files {
		r, ok := rows[f.ID.String()]
		if !ok || copying[f.ID] || r.Status != "ready" {
			continue // reported as a row difference already, or pending without bytes
		}
		b, ok := pyBucketOf(f, byID, byName)
		if !ok {
			continue
		}
		path, _, found := im.locate(f, b)
		name := fmt.Sprintf("file %s/%s (%s)", b.Name, f.Filename, f.ID)
		tsize, tsum, err := hashFile(filepath.Join(im.cfg.StoragePath, r.BucketID.String(), r.ObjectName))
		if errors.Is(err, fs.ErrNotExist) {
			*diffs = append(*diffs, name+": ready on the target, but its bytes are missing from STORAGE_PATH")
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		if r.ChecksumSHA256 == nil || *r.ChecksumSHA256 != tsum || r.Size != tsize {
			*diffs = append(*diffs, name+": the target's bytes do not match its recorded size and SHA-256")
		}
		if !found {
			continue // the source lost them; noted by the plan
		}
		ssize, ssum, err := hashFile(path)
		if err != nil {
			return 0, 0, err
		}
		if ssum != tsum || ssize != tsize {
			*diffs = append(*diffs, fmt.Sprintf("%s: bytes differ (source %d bytes, sha256 %s; target %d bytes, sha256 %s)", name, ssize, ssum, tsize, tsum))
		}
		total += tsize
		hashed++
	}
	return total, hashed, nil
}

// differingKeys names up to five keys of rows that differ in a table whose
// keys were compared (planExisting's temporary tables).
func (im *importer) differingKeys(ctx context.Context, t *tablePlan) (string, error) {
	if t.n == 0 {
		return "", nil
	}
	var keys []string
	col := strings.Join(t.def.pk, ", ")
	q := fmt.Sprintf(`(SELECT k, CASE WHEN is_new THEN 'missing' ELSE 'different' END FROM pg_temp._imp_diff_%d ORDER BY k LIMIT 5)
UNION ALL (SELECT %s, 'only on the target' FROM %s x WHERE NOT EXISTS (SELECT 1 FROM pg_temp._imp_src_%d s WHERE s.k = %s) ORDER BY 1 LIMIT 5)`,
		t.n, t.def.keyExpr("x"), qualified(t.def.Name), t.n, t.def.keyExpr("x"))
	err := queryEach(ctx, im.tgt, q, func(rs *sql.Rows) error {
		var k, what string
		if err := rs.Scan(&k, &what); err != nil {
			return err
		}
		if len(keys) < 5 {
			keys = append(keys, fmt.Sprintf("%s=%s (%s)", col, k, what))
		}
		return nil
	})
	return strings.Join(keys, ", "), err
}

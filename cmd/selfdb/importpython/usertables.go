package importpython

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/selfdb/selfdb/modules/tables"
)

// schemaPlan is what a run does to the user tables and what they use.
type schemaPlan struct {
	sc       *schemaDef
	tables   []*tablePlan // source tables, referenced ones first
	drops    []string     // imported tables gone from the source
	newSeqs  []seqDef
	newEnums []enumDef
}

// policyFor is the policy a table created by the import gets (--policy).
func policyFor(choice string) tables.Policy {
	if choice == "compatible" {
		// Any signed-in user reads and writes: the closest safe setting to
		// the Python version, which let anyone (anon included) do anything.
		return tables.Policy{Read: tables.LevelAuthenticated, Insert: tables.LevelAuthenticated,
			Update: tables.LevelAuthenticated, Delete: tables.LevelAuthenticated}
	}
	return tables.DefaultPolicy()
}

// describePolicy prints the levels a policy stands for.
func describePolicy(choice string, p tables.Policy) string {
	e := p.Effective()
	return fmt.Sprintf("policy %s: read %s, insert %s, update %s, delete %s", choice, e.Read, e.Insert, e.Update, e.Delete)
}

// planSchema compares the source's user tables with the target's.
func (im *importer) planSchema(ctx context.Context, sc *schemaDef) (*schemaPlan, error) {
	sp := &schemaPlan{sc: sc}
	for _, e := range sc.enums {
		var doc sql.NullString
		err := im.tgt.Conn.QueryRowContext(ctx, `SELECT json_agg(enumlabel ORDER BY enumsortorder)::text FROM pg_enum WHERE enumtypid = to_regtype(`+
			lit(qualified(e.Name))+`)`).Scan(&doc)
		if err != nil {
			return nil, err
		}
		if !doc.Valid {
			sp.newEnums = append(sp.newEnums, e)
			continue
		}
		var labels []string
		_ = json.Unmarshal([]byte(doc.String), &labels)
		if !slices.Equal(labels, e.Labels) {
			im.problems.add("type public.%s: the target's labels %v differ from the source's %v; the import does not alter types: make the same change on the target, then run again", e.Name, labels, e.Labels)
		}
	}
	for _, q := range sc.seqs {
		if q.Identity {
			continue
		}
		exists, err := im.relExists(ctx, q.Name)
		if err != nil {
			return nil, err
		}
		switch {
		case !exists:
			sp.newSeqs = append(sp.newSeqs, q)
		case !im.state.has(kindSequence, q.Name):
			im.problems.add("the target already has a sequence public.%s that the import did not create", q.Name)
		}
	}
	for _, t := range sc.tables {
		p := &tablePlan{def: t}
		for _, n := range t.notes {
			im.out.line("table %s: %s", t.Name, n)
		}
		exists, err := im.relExists(ctx, t.Name)
		if err != nil {
			return nil, err
		}
		switch {
		case !exists:
			p.isNew = true
			pol := policyFor(im.opts.Policy)
			p.policy = &pol
			if err := im.src.conn.Conn.QueryRowContext(ctx, "SELECT count(*) FROM "+qualified(t.Name)).Scan(&p.srcRows); err != nil {
				return nil, err
			}
			p.inserts = p.srcRows
		case !im.state.has(kindTable, t.Name):
			im.problems.add("the target already has a table public.%s that the import did not create", t.Name)
		default:
			if err := im.planExisting(ctx, p); err != nil {
				if pr, ok := err.(*problem); ok {
					im.problems.add("%s", pr.msg)
					continue
				}
				return nil, err
			}
		}
		sp.tables = append(sp.tables, p)
	}
	for _, name := range im.state.ids(kindTable) {
		if sc.byName[name] != nil {
			continue
		}
		exists, err := im.relExists(ctx, name)
		if err != nil {
			return nil, err
		}
		if exists {
			sp.drops = append(sp.drops, name)
		} else {
			im.state.forget(kindTable, name)
		}
	}
	for _, n := range sc.notes {
		im.out.line("note: %s", n)
	}
	return sp, nil
}

// relExists reports whether public has a relation of that name.
func (im *importer) relExists(ctx context.Context, name string) (bool, error) {
	var ok bool
	err := im.tgt.Conn.QueryRowContext(ctx, "SELECT to_regclass("+lit(qualified(name))+") IS NOT NULL").Scan(&ok)
	return ok, err
}

// applySchema creates, fills and syncs the user tables.
func (im *importer) applySchema(ctx context.Context, sp *schemaPlan) error {
	exec := func(q string) error {
		if _, err := im.tgt.Conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %s", firstWords(q), pgMessage(err))
		}
		return nil
	}
	for _, e := range sp.newEnums {
		labels := make([]string, len(e.Labels))
		for i, l := range e.Labels {
			labels[i] = lit(l)
		}
		if err := exec("CREATE TYPE " + qualified(e.Name) + " AS ENUM (" + strings.Join(labels, ", ") + ")"); err != nil {
			return err
		}
		im.state.add(kindType, e.Name)
	}
	for _, q := range sp.newSeqs {
		if err := exec(q.createSQL()); err != nil {
			return err
		}
		im.state.add(kindSequence, q.Name)
	}
	for _, p := range sp.tables {
		if p.isNew {
			if err := im.loadNew(ctx, p); err != nil {
				return err
			}
			im.state.add(kindTable, p.def.Name)
		}
	}
	for _, q := range sp.newSeqs {
		if q.OwnerTable != "" {
			if err := exec("ALTER SEQUENCE " + qualified(q.Name) + " OWNED BY " + qualified(q.OwnerTable) + "." + ident(q.OwnerColumn)); err != nil {
				return err
			}
		}
	}
	for _, p := range sp.tables {
		if !p.isNew && p.changed() {
			if err := im.disableCapture(ctx, p.def.Name); err != nil {
				return err
			}
		}
	}
	for i := len(sp.tables) - 1; i >= 0; i-- {
		if p := sp.tables[i]; !p.isNew {
			if err := im.deleteGone(ctx, p); err != nil {
				return err
			}
		}
	}
	for _, p := range sp.tables {
		if !p.isNew && p.changed() {
			if err := im.upsertChanged(ctx, p); err != nil {
				return err
			}
			im.out.line("table %s: %d new, %d changed, %d deleted rows", p.def.Name, p.inserts, p.updates, p.dels)
		}
	}
	repo := tables.NewRepository(im.tgtDB.DB, nil)
	for i := len(sp.drops) - 1; i >= 0; i-- {
		name := sp.drops[i]
		if err := exec("DROP TABLE " + qualified(name)); err != nil {
			return fmt.Errorf("table %s is gone from the source: %w", name, err)
		}
		if err := repo.DeletePolicy(ctx, im.tgt.Conn, name); err != nil {
			return err
		}
		im.state.forget(kindTable, name)
		im.out.line("table %s: dropped (gone from the source)", name)
	}
	for _, p := range sp.tables {
		if !p.isNew {
			continue
		}
		for _, q := range p.def.fkSQL() {
			if err := exec(q); err != nil {
				return fmt.Errorf("table %s: %w", p.def.Name, err)
			}
		}
		if err := repo.SavePolicy(ctx, im.tgt.Conn, p.def.Name, *p.policy); err != nil {
			return fmt.Errorf("table %s: saving its policy: %w", p.def.Name, err)
		}
		im.out.line("table %s: %s", p.def.Name, describePolicy(im.opts.Policy, *p.policy))
	}
	return nil
}

// setSequences moves the sequences to where the source's are, and past the
// highest value of the column they fill. It runs last: setval is not undone
// by a rollback.
func (im *importer) setSequences(ctx context.Context, sc *schemaDef) (int, error) {
	n := 0
	for _, q := range sc.seqs {
		m, err := im.sequenceMove(ctx, q)
		if err != nil {
			return n, err
		}
		if m == nil {
			continue
		}
		if _, err := im.tgt.Conn.ExecContext(ctx, fmt.Sprintf("SELECT setval(%s::regclass, %d, %t)", lit(m.name), m.last, m.called)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// seqMove is a setval to do.
type seqMove struct {
	name   string
	last   int64
	called bool
}

// sequenceMove is where a target sequence must go, or nil when it is
// there or past it (or does not exist yet).
func (im *importer) sequenceMove(ctx context.Context, q seqDef) (*seqMove, error) {
	var name sql.NullString
	if q.Identity {
		if err := im.tgt.Conn.QueryRowContext(ctx, "SELECT CASE WHEN to_regclass("+lit(qualified(q.OwnerTable))+") IS NOT NULL THEN pg_get_serial_sequence("+
			lit(qualified(q.OwnerTable))+", "+lit(q.OwnerColumn)+") END").Scan(&name); err != nil {
			return nil, err
		}
	} else if err := im.tgt.Conn.QueryRowContext(ctx, "SELECT to_regclass("+lit(qualified(q.Name))+")::text").Scan(&name); err != nil {
		return nil, err
	}
	if !name.Valid {
		return nil, nil
	}
	m := &seqMove{name: name.String, last: q.Last, called: q.Called}
	if q.OwnerTable != "" && q.Inc > 0 {
		var hi sql.NullInt64
		err := im.tgt.Conn.QueryRowContext(ctx, "SELECT CASE WHEN to_regclass("+lit(qualified(q.OwnerTable))+") IS NOT NULL THEN (SELECT max("+
			ident(q.OwnerColumn)+")::bigint FROM "+qualified(q.OwnerTable)+") END").Scan(&hi)
		if err != nil {
			return nil, err
		}
		if hi.Valid && (hi.Int64 > m.last || (hi.Int64 == m.last && !m.called)) {
			m.last, m.called = hi.Int64, true
		}
	}
	var last int64
	var called bool
	if err := im.tgt.Conn.QueryRowContext(ctx, "SELECT last_value, is_called FROM "+m.name).Scan(&last, &called); err != nil {
		return nil, err
	}
	// Never backwards: values the target handed out stay used.
	next := func(last int64, called bool) int64 {
		if called {
			return last + q.Inc
		}
		return last
	}
	cur, want := next(last, called), next(m.last, m.called)
	if cur == want || (q.Inc > 0 && cur > want) || (q.Inc < 0 && cur < want) {
		return nil, nil
	}
	return m, nil
}

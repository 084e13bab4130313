package importpython_test

import (
	"context"
	"strings"
	"testing"
)

// Tables of every shape the import handles: text and composite keys with
// awkward values, an identity column, a generated column, an enum, a check,
// a unique index, comments, a table without a primary key. Each survives
// a first run, changes of every kind and a second run (by the rows written
// since), and a Go-side write repaired with --force (row by row).
func TestTableShapes(t *testing.T) {
	src, tg := restore(t), newTarget(t)
	src.exec(t, `CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy')`)
	src.exec(t, `CREATE TABLE public.tags (name text PRIMARY KEY, mood public.mood NOT NULL DEFAULT 'ok', moods public.mood[])`)
	src.exec(t, `COMMENT ON COLUMN public.tags.mood IS 'how it feels'`)
	src.exec(t, `INSERT INTO public.tags (name, moods) VALUES ('it''s "quoted"', '{sad,happy}'), ('back\slash', NULL), ('a,b {x}', '{}'), ('多言語 ✓', '{ok}')`)
	src.exec(t, `CREATE TABLE public.pairs (a int, b text, v jsonb, n numeric CHECK (n >= 0), PRIMARY KEY (a, b))`)
	src.exec(t, `CREATE UNIQUE INDEX pairs_v_key ON public.pairs ((v ->> 'id'))`)
	src.exec(t, `INSERT INTO public.pairs SELECT i, 'b' || i, jsonb_build_object('id', i), i FROM generate_series(1, 50) i`)
	src.exec(t, `CREATE TABLE public.ids (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text, len int GENERATED ALWAYS AS (length(v)) STORED)`)
	src.exec(t, `INSERT INTO public.ids (v) SELECT 'v' || i FROM generate_series(1, 20) i`)
	src.exec(t, `CREATE TABLE public.nokey (x int, y text)`)
	src.exec(t, `INSERT INTO public.nokey VALUES (1, 'one'), (1, 'one'), (2, NULL)`)
	tg.mustRun(t, src.opts())
	if _, err := tg.run(t, verifyOpts(src)); err != nil {
		t.Fatalf("verify after the first run: %v", err)
	}
	ctx := context.Background()
	var comment string
	if err := tg.db.QueryRowContext(ctx, `SELECT col_description('public.tags'::regclass, 2)`).Scan(&comment); err != nil || comment != "how it feels" {
		t.Errorf("column comment %q (%v)", comment, err)
	}
	if _, err := tg.db.ExecContext(ctx, `INSERT INTO public.pairs VALUES (99, 'x', '{"id": 1}', 1)`); err == nil {
		t.Error("the unique index does not hold")
	}
	if _, err := tg.db.ExecContext(ctx, `INSERT INTO public.pairs VALUES (98, 'x', '{"id": 98}', -1)`); err == nil {
		t.Error("the check does not hold")
	}

	src.exec(t, `INSERT INTO public.tags (name, mood) VALUES ('new"one', 'happy')`)
	src.exec(t, `UPDATE public.tags SET moods = '{happy}' WHERE name = 'back\slash'`)
	src.exec(t, `DELETE FROM public.tags WHERE name = 'a,b {x}'`)
	src.exec(t, `UPDATE public.pairs SET v = v || '{"x": true}' WHERE a = 7`)
	src.exec(t, `DELETE FROM public.pairs WHERE a IN (1, 2)`)
	src.exec(t, `INSERT INTO public.ids (v) VALUES ('twenty-one')`)
	src.exec(t, `UPDATE public.ids SET v = 'changed' WHERE id = 3`)
	src.exec(t, `INSERT INTO public.nokey VALUES (3, 'three')`)
	out := tg.mustRun(t, src.opts())
	for _, want := range []string{"table tags: 1 new, 1 changed, 1 deleted rows", "table pairs: 0 new, 1 changed, 2 deleted rows",
		"table ids: 1 new, 1 changed, 0 deleted rows", "table nokey     4 rows: differs, no primary key: copied whole"} {
		if !strings.Contains(out, want) {
			t.Errorf("second run output lacks %q", want)
		}
	}
	if _, err := tg.run(t, verifyOpts(src)); err != nil {
		t.Fatalf("verify after the second run: %v", err)
	}
	var id, length int
	if err := tg.db.QueryRowContext(ctx, `INSERT INTO public.ids (v) VALUES ('abc') RETURNING id, len`).Scan(&id, &length); err != nil || id != 22 || length != 3 {
		t.Errorf("a new identity row: id %d, len %d (%v), want 22, 3", id, length, err)
	}
	if _, err := tg.db.ExecContext(ctx, `DELETE FROM public.ids WHERE id = 22`); err != nil {
		t.Fatal(err)
	}

	// A Go-side write, repaired by --force (compared row by row).
	if _, err := tg.db.ExecContext(ctx, `UPDATE public.pairs SET n = 1000 WHERE a = 9 AND b = 'b9'`); err != nil {
		t.Fatal(err)
	}
	out, err := tg.run(t, verifyOpts(src))
	if err == nil || !strings.Contains(out, "table pairs: rows differ") || !strings.Contains(out, "a, b=(9,b9) (different)") {
		t.Fatalf("verify after a Go-side write: %v", err)
	}
	o := src.opts()
	o.Force = true
	out = tg.mustRun(t, o)
	if !strings.Contains(out, "table pairs: 0 new, 1 changed, 0 deleted rows") || strings.Contains(out, "table ids: ") {
		t.Errorf("--force did not repair exactly the written rows")
	}
	if _, err := tg.run(t, verifyOpts(src)); err != nil {
		t.Fatalf("verify after --force: %v", err)
	}
}

package importpython

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/selfdb/selfdb/platform/testkit"
)

// writtenSince places a row's 32-bit xmin in the snapshot's epoch (or the
// one before, for values above the snapshot's) before comparing it with a
// 64-bit transaction id; frozen rows are old.
func TestWrittenSince(t *testing.T) {
	d := testkit.OpenDB(t, testkit.DatabaseURL())
	epoch := int64(1) << 32
	s := &source{xmax: epoch + 1000} // epoch 1, transaction 1000
	since := epoch + 400
	for xmin, want := range map[int64]bool{
		500:        true,  // epoch 1, after since
		1000:       true,  // the snapshot's own xmax
		300:        false, // epoch 1, before since
		4294967000: false, // epoch 0
		2:          false, // frozen
	} {
		var got bool
		q := fmt.Sprintf("SELECT %s FROM (VALUES ('%d'::xid)) x(xmin)", s.writtenSince(since), xmin)
		if err := d.QueryRowContext(context.Background(), q).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("xmin %d, since %d: written since = %t, want %t", xmin, since, got, want)
		}
	}
}

// arrayLit's elements reach Postgres as they are: quotes, backslashes,
// commas, braces, NULL-looking text and unicode included.
func TestArrayLit(t *testing.T) {
	d := testkit.OpenDB(t, testkit.DatabaseURL())
	in := []string{`plain`, `it's "quoted"`, `back\slash`, `a,b`, `{x}`, `NULL`, ``, ` spaced `, `多言語 ✓`}
	var out []string
	if err := d.QueryRowContext(context.Background(), "SELECT "+arrayLit(in)).Scan(pgdialect.Array(&out)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in, out) {
		t.Fatalf("arrayLit round trip: %q, want %q", out, in)
	}
}

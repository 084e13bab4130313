package importpython

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/modules/files"
	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
)

// Options are the command's flags.
type Options struct {
	// FromDB is the Python version's database URL (postgresql://,
	// postgresql+asyncpg:// ...).
	FromDB string
	// FromStorage is the Python storage directory (<bucket>/<object>).
	FromStorage string
	// FromFunctions is the Python functions directory (<name>.ts).
	FromFunctions string
	// Policy is the access policy of the tables a run creates: secure (the
	// server's defaults for new tables) or compatible (any signed-in user
	// reads and writes).
	Policy string
	// DryRun prints the plan and writes nothing.
	DryRun bool
	// Verify compares source and target instead of importing.
	Verify bool
	// Force imports even when the Go server wrote to imported objects since
	// the last run (those writes are overwritten).
	Force bool
	// Timeout bounds reaching each database (default 5s).
	Timeout time.Duration
}

// ErrDifferent is --verify's result when source and target differ.
var ErrDifferent = errors.New("the target differs from the source")

// Usage is the command's help.
const Usage = `usage: selfdb import-python --from-db URL [--from-storage DIR] [--from-functions DIR]
                            [--policy secure|compatible] [--dry-run | --verify] [--force]
Imports a Python SelfDB deployment into DATABASE_URL (migrated first) and
STORAGE_PATH; run it again to copy what changed since (see the README,
"Moving from the Python SelfDB").`

// Main parses the command's arguments and runs it with the server's
// configuration (the environment).
func Main(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("import-python", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(out, Usage)
		fs.PrintDefaults()
	}
	var o Options
	fs.StringVar(&o.FromDB, "from-db", "", "the Python version's database URL (required)")
	fs.StringVar(&o.FromStorage, "from-storage", "", "the Python storage directory (<bucket>/<object>)")
	fs.StringVar(&o.FromFunctions, "from-functions", "", "the Python functions directory (<name>.ts)")
	fs.StringVar(&o.Policy, "policy", "secure", "access policy of the tables the import creates: secure or compatible")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print the plan with counts; write nothing")
	fs.BoolVar(&o.Verify, "verify", false, "compare source and target; exit status 0 only when they match")
	fs.BoolVar(&o.Force, "force", false, "import even if the Go server wrote to imported data since the last run (overwriting it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("import-python: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	return Run(context.Background(), cfg, o, out)
}

// printer writes lines of output (from the run and its progress tickers).
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// importer is one run.
type importer struct {
	opts  Options
	cfg   *config.Config
	out   *printer
	srcDB *bun.DB
	tgtDB *bun.DB
	src   *source
	tgt   bun.Conn
	store *files.DiskStore

	state    *state
	written  map[string]bool // user tables the Go server wrote since the last run
	problems problems
	disabled []string // tables whose capture this run turned off
	tmpN     int
	stats    struct {
		rows, rowBytes, files, fileBytes int64
		rowTime, fileTime                time.Duration
	}
}

// Run imports (or, with Verify, compares) with cfg's DATABASE_URL and
// STORAGE_PATH as the target, printing to out.
func Run(ctx context.Context, cfg *config.Config, o Options, out io.Writer) error {
	if o.FromDB == "" {
		return errors.New("import-python: --from-db is required (the Python version's DATABASE_URL)")
	}
	if o.Policy == "" {
		o.Policy = "secure"
	}
	if o.Policy != "secure" && o.Policy != "compatible" {
		return fmt.Errorf("import-python: --policy must be secure or compatible, got %q", o.Policy)
	}
	if o.DryRun && o.Verify {
		return errors.New("import-python: --dry-run and --verify do not go together")
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	for flagName, dir := range map[string]string{"--from-storage": o.FromStorage, "--from-functions": o.FromFunctions} {
		if dir == "" {
			continue
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("import-python: %s %s: not a directory", flagName, dir)
		}
	}
	if _, err := config.NormalizeDatabaseURL(o.FromDB); err != nil {
		return fmt.Errorf("import-python: --from-db: %v", err)
	}
	im := &importer{opts: o, cfg: cfg, out: &printer{w: out}}
	var err error
	if im.srcDB, err = openPool(cfg, o.FromDB, "selfdb-import-source"); err != nil {
		return fmt.Errorf("import-python: --from-db: %w", err)
	}
	defer im.srcDB.Close()
	srcConn, err := connect(ctx, im.srcDB, o.Timeout)
	if err != nil {
		return fmt.Errorf("import-python: cannot reach the Python database %s (--from-db): %v", hostOf(o.FromDB), err)
	}
	defer srcConn.Close()
	if im.src, err = openSnapshot(ctx, srcConn, "--from-db "+redact(o.FromDB)); err != nil {
		return fmt.Errorf("import-python: %w", err)
	}
	if im.tgtDB, err = openPool(cfg, cfg.DatabaseURL, "selfdb-import"); err != nil {
		return fmt.Errorf("import-python: DATABASE_URL: %w", err)
	}
	defer im.tgtDB.Close()
	if im.tgt, err = connect(ctx, im.tgtDB, o.Timeout); err != nil {
		return fmt.Errorf("import-python: cannot reach the target database %s (DATABASE_URL): %v", hostOf(cfg.DatabaseURL), err)
	}
	defer im.tgt.Close()
	if o.Verify {
		return im.verify(ctx)
	}
	var python bool
	if err := im.tgt.Conn.QueryRowContext(ctx, `SELECT to_regclass('public.alembic_version') IS NOT NULL AND EXISTS (SELECT 1 FROM pg_attribute
  WHERE attrelid = to_regclass('public.users') AND attname = 'hashed_password')`).Scan(&python); err != nil {
		return err
	}
	if python {
		return fmt.Errorf("import-python: DATABASE_URL (%s) is a Python SelfDB database: the target must be the Go server's own (new) database, and the source is never written", redact(cfg.DatabaseURL))
	}
	// A dry run migrates too, as the server does at start: the plan needs
	// SelfDB's tables, and migrating holds no data.
	applied, err := db.Migrate(ctx, im.tgtDB)
	if err != nil {
		return fmt.Errorf("import-python: migrating the target: %w", err)
	}
	if len(applied) > 0 {
		im.out.line("target migrated: %d migrations applied", len(applied))
	}
	var locked bool
	key := db.LockKey("import-python")
	if err := im.tgt.Conn.QueryRowContext(ctx, fmt.Sprintf("SELECT pg_try_advisory_lock(%d)", key)).Scan(&locked); err != nil {
		return err
	}
	if !locked {
		return errors.New("import-python: another import is running on this target database")
	}
	defer im.tgt.Conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("SELECT pg_advisory_unlock(%d)", key)) //nolint:errcheck
	if !o.DryRun {
		if im.store, err = files.NewDiskStore(cfg.StoragePath); err != nil {
			return fmt.Errorf("import-python: %w", err)
		}
	}
	if err := im.run(ctx); err != nil {
		return fmt.Errorf("import-python: %w", err)
	}
	return nil
}

// plan is everything one run writes.
type plan struct {
	accounts  *accountsPlan
	storage   *storagePlan
	schema    *schemaPlan
	functions *functionsPlan
	seqMoves  int
}

// empty reports whether the run has nothing to write.
func (p *plan) empty() bool {
	if p.accounts.users.changed() || p.accounts.tokens.changed() || p.accounts.snippets.changed() ||
		p.storage.buckets.changed() || p.storage.files.changed() || len(p.storage.copies) > 0 || p.seqMoves > 0 {
		return false
	}
	if p.functions != nil && p.functions.changed() {
		return false
	}
	s := p.schema
	if len(s.drops)+len(s.newSeqs)+len(s.newEnums) > 0 {
		return false
	}
	for _, t := range s.tables {
		if t.changed() {
			return false
		}
	}
	return true
}

// run plans and, unless it is a dry run, applies, in one transaction.
func (im *importer) run(ctx context.Context) (err error) {
	started := time.Now()
	if _, err := im.tgt.Conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	committed := false
	var p plan
	defer func() {
		if !committed {
			_, _ = im.tgt.Conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			im.unstore(p.storage)
		}
	}()
	if im.state, err = loadState(ctx, im.tgt); err != nil {
		return err
	}
	if im.state.runs > 0 {
		writes, tables, err := goSideWrites(ctx, im.tgt, im.state.position)
		if err != nil {
			return err
		}
		im.written = tables
		if len(writes) > 0 && !im.opts.Force {
			return &problem{fmt.Sprintf("nothing was imported: since the last import the Go server wrote to imported data: %s. "+
				"The cut-over seems to have happened, and importing again would overwrite those writes. "+
				"If traffic went back to Python (rollback), see the README; --force imports anyway.", strings.Join(writes, ", "))}
		}
		if len(writes) > 0 {
			im.out.line("warning: --force: overwriting what the Go server wrote since the last import: %s", strings.Join(writes, ", "))
		}
	}
	snap, err := im.src.read(ctx)
	if err != nil {
		return err
	}
	sc, err := im.src.readSchema(ctx)
	if err != nil {
		return err
	}
	if len(snap.files) > 0 && im.opts.FromStorage == "" {
		return fmt.Errorf("the source has %d files: give --from-storage (the Python storage directory)", len(snap.files))
	}
	if p.accounts, err = im.planAccounts(ctx, snap); err != nil {
		return err
	}
	if p.storage, err = im.planStorage(ctx, snap, p.accounts); err != nil {
		return err
	}
	if p.functions, err = im.planFunctions(ctx, snap, p.accounts); err != nil {
		return err
	}
	if p.schema, err = im.planSchema(ctx, sc); err != nil {
		return err
	}
	if p.seqMoves, err = im.plannedSequenceMoves(ctx, sc); err != nil {
		return err
	}
	if err := im.problems.err(); err != nil {
		return err
	}
	im.printPlan(&p)
	for _, m := range p.storage.missing {
		im.out.line("warning: %s", m)
	}
	if p.empty() {
		im.out.line("nothing to import: the target is up to date with the source")
		return nil
	}
	if im.opts.DryRun {
		im.out.line("dry run: nothing was written")
		return nil
	}
	t0 := time.Now()
	if err := im.copyBytes(ctx, p.storage); err != nil {
		return err
	}
	im.stats.fileTime = time.Since(t0)
	t0 = time.Now()
	if err := im.apply(ctx, &p); err != nil {
		return err
	}
	moved, err := im.setSequences(ctx, sc)
	if err != nil {
		return err
	}
	if _, err := im.tgt.Conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	im.stats.rowTime = time.Since(t0)
	im.removeGone(ctx, p.storage)
	im.invalidate(&p)
	im.printSummary(&p, moved, time.Since(started))
	return nil
}

// apply writes the plan, owners before what they own and the other way
// round for deletions.
func (im *importer) apply(ctx context.Context, p *plan) error {
	steps := []struct {
		what string
		fn   func() error
	}{
		{"users", func() error { return im.applyUsers(ctx, p.accounts) }},
		{"buckets", func() error { return im.applyBuckets(ctx, p.storage) }},
		{"files", func() error { return im.applyFiles(ctx, p.storage) }},
		{"refresh tokens and snippets", func() error { return im.applyTokensAndSnippets(ctx, p.accounts) }},
		{"tables", func() error { return im.applySchema(ctx, p.schema) }},
		{"functions", func() error { return im.applyFunctions(ctx, p.functions) }},
		{"deleted buckets", func() error { return im.deleteBuckets(ctx, p.storage) }},
		{"deleted users", func() error { return im.deleteUsers(ctx, p.accounts) }},
		{"change capture", func() error { return im.enableCapture(ctx) }},
		{"bookkeeping", func() error { return im.state.save(ctx, im.tgt) }},
		{"bookkeeping", func() error {
			return recordRun(ctx, im.tgt, redact(im.opts.FromDB), time.Now().UTC().Format(time.RFC3339Nano), im.src.xmin, im.summary(p))
		}},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			return fmt.Errorf("%s: %s", s.what, pgMessage(err))
		}
	}
	return nil
}

// plannedSequenceMoves counts the existing sequences a run would move.
func (im *importer) plannedSequenceMoves(ctx context.Context, sc *schemaDef) (int, error) {
	n := 0
	for _, q := range sc.seqs {
		m, err := im.sequenceMove(ctx, q)
		if err != nil {
			return 0, err
		}
		if m != nil {
			n++
		}
	}
	return n, nil
}

// summary is what selfdb.import_python_runs keeps about a run.
func (im *importer) summary(p *plan) map[string]any {
	tables := map[string]any{}
	for _, t := range p.schema.tables {
		if t.changed() {
			tables[t.def.Name] = map[string]int64{"inserted": t.inserts, "updated": t.updates, "deleted": t.dels}
		}
	}
	return map[string]any{
		"users": p.accounts.users.summary(), "refresh_tokens": p.accounts.tokens.summary(),
		"buckets": p.storage.buckets.summary(), "files": p.storage.files.summary(),
		"snippets": p.accounts.snippets.summary(), "tables": tables, "policy": im.opts.Policy,
		"file_bytes": im.stats.fileBytes, "rows": im.stats.rows,
	}
}

// printPlan prints what the run is about to do.
func (im *importer) printPlan(p *plan) {
	head := "plan"
	if im.opts.DryRun {
		head = "plan (dry run)"
	}
	alembic := ""
	if im.src.alembic != "" {
		alembic = ", alembic revision " + im.src.alembic
	}
	im.out.line("%s: %s (Python SelfDB%s) → %s", head, redact(im.opts.FromDB), alembic, redact(im.cfg.DatabaseURL))
	im.out.line("  users           %s", p.accounts.users.summary())
	im.out.line("  refresh tokens  %s", p.accounts.tokens.summary())
	im.out.line("  buckets         %s", p.storage.buckets.summary())
	var bytes int64
	for _, c := range p.storage.copies {
		if st, err := os.Stat(c.path); err == nil {
			bytes += st.Size()
		}
	}
	im.out.line("  files           %s (bytes to copy: %d files, %s; without bytes: %d)", p.storage.files.summary(), len(p.storage.copies), human(bytes), len(p.storage.missing))
	im.out.line("  SQL snippets    %s", p.accounts.snippets.summary())
	if p.functions != nil {
		im.out.line("  functions       %s", p.functions.summary())
	}
	for _, t := range p.schema.tables {
		switch {
		case t.isNew:
			im.out.line("  table %-9s new: %d rows, %s", t.def.Name, t.srcRows, describePolicy(im.opts.Policy, *t.policy))
		case t.replace:
			im.out.line("  table %-9s %d rows: differs, no primary key: copied whole", t.def.Name, t.srcRows)
		case t.changed():
			im.out.line("  table %-9s %d rows: %d new, %d changed, %d deleted", t.def.Name, t.srcRows, t.inserts, t.updates, t.dels)
		default:
			im.out.line("  table %-9s unchanged (%d rows)", t.def.Name, t.srcRows)
		}
	}
	for _, d := range p.schema.drops {
		im.out.line("  table %-9s gone from the source: dropped", d)
	}
	if p.seqMoves > 0 {
		im.out.line("  sequences       %d to move", p.seqMoves)
	}
}

// printSummary prints what the run did and how fast.
func (im *importer) printSummary(p *plan, moved int, took time.Duration) {
	rate := func(n int64, d time.Duration) float64 {
		if d <= 0 {
			return 0
		}
		return float64(n) / d.Seconds()
	}
	im.out.line("imported in %s: %d table rows (%.0f rows/s), %d files, %s (%s/s), %d sequences moved",
		took.Round(time.Millisecond), im.stats.rows, rate(im.stats.rows, im.stats.rowTime),
		im.stats.files, human(im.stats.fileBytes), human(int64(rate(im.stats.fileBytes, im.stats.fileTime))), moved)
	if n := len(p.storage.missing); n > 0 {
		im.out.line("warning: %d files have no bytes in %s and stay pending (listed above)", n, im.opts.FromStorage)
	}
}

// invalidate drops what a running Go server may have cached about the
// objects this run changed (users are also dropped by the change log's
// events; buckets, files and functions only by their writers).
func (im *importer) invalidate(p *plan) {
	if len(im.cfg.MemcachedServers()) == 0 {
		return
	}
	c := cache.New(im.cfg, zap.NewNop(), prometheus.NewRegistry())
	defer c.Close()
	if !c.Ping() {
		im.out.line("note: memcached is unreachable: a running Go server may serve its cached copies of changed buckets and files for up to CACHE_TTL")
		return
	}
	var keys []string
	ids := func(prefix string, up []uuid.UUID, del []uuid.UUID) {
		for _, id := range append(up, del...) {
			keys = append(keys, c.Key(prefix, id.String()))
		}
	}
	var users, buckets, fls []uuid.UUID
	for _, r := range p.accounts.users.upserts {
		users = append(users, r.ID)
	}
	for _, r := range p.storage.buckets.upserts {
		buckets = append(buckets, r.ID)
	}
	for _, r := range p.storage.files.upserts {
		fls = append(fls, r.ID)
	}
	ids("users", users, p.accounts.users.deletes)
	ids("buckets", buckets, p.storage.buckets.deletes)
	ids("files", fls, p.storage.files.deletes)
	if p.functions != nil {
		for _, n := range p.functions.names() {
			keys = append(keys, c.Key("functions", "name", n))
		}
	}
	c.Invalidate(keys...)
}

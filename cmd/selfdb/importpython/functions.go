package importpython

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// The Python version's functions: metadata and versions in its database,
// the code itself in its functions directory (its rows hold a placeholder).

type pyFunction struct {
	ID, OwnerID uuid.UUID
	Name, Code  string
	Description *string
	Version     int
	IsActive    bool
	CreatedAt   time.Time
	UpdatedAt   *time.Time
}

type pyVersion struct {
	ID, FunctionID uuid.UUID
	Number         int
	Code           string
	CreatedAt      time.Time
	CreatedBy      *uuid.UUID
}

type pyEnv struct {
	ID, FunctionID uuid.UUID
	Key, Value     string
	IsSecret       bool
	CreatedAt      time.Time
	UpdatedAt      *time.Time
}

type pyFunctions struct {
	funcs    []pyFunction
	versions []pyVersion
	env      []pyEnv
}

// readFunctions reads the functions, their versions and env vars (nil when
// the source has no functions table).
func (s *source) readFunctions(ctx context.Context) (*pyFunctions, error) {
	if !s.has("functions", "name") {
		return nil, nil
	}
	out := &pyFunctions{}
	epoch := "'epoch'::timestamptz"
	err := s.query(ctx, `SELECT t.id, t.owner_id, t.name, coalesce(t.code, ''), t.description, coalesce(`+s.col("functions", "version_number", "1")+`, 1),
  coalesce(`+s.col("functions", "is_active", "true")+`, true), coalesce(`+s.col("functions", "created_at", epoch)+`, 'epoch'), `+
		s.col("functions", "updated_at", "NULL::timestamptz")+` FROM public.functions t ORDER BY t.name`, func(rs *sql.Rows) error {
		var f pyFunction
		if err := rs.Scan(&f.ID, &f.OwnerID, &f.Name, &f.Code, &f.Description, &f.Version, &f.IsActive, &f.CreatedAt, &f.UpdatedAt); err != nil {
			return err
		}
		out.funcs = append(out.funcs, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.has("function_versions", "version_number") {
		err = s.query(ctx, `SELECT t.id, t.function_id, t.version_number, coalesce(t.code, ''), coalesce(`+s.col("function_versions", "created_at", epoch)+`, 'epoch'), `+
			s.col("function_versions", "created_by", "NULL::uuid")+` FROM public.function_versions t ORDER BY t.function_id, t.version_number`, func(rs *sql.Rows) error {
			var v pyVersion
			if err := rs.Scan(&v.ID, &v.FunctionID, &v.Number, &v.Code, &v.CreatedAt, &v.CreatedBy); err != nil {
				return err
			}
			out.versions = append(out.versions, v)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if s.has("function_env_vars", "key") {
		err = s.query(ctx, `SELECT t.id, t.function_id, t.key, t.value, coalesce(`+s.col("function_env_vars", "is_secret", "true")+`, true),
  coalesce(`+s.col("function_env_vars", "created_at", epoch)+`, 'epoch'), `+s.col("function_env_vars", "updated_at", "NULL::timestamptz")+`
FROM public.function_env_vars t ORDER BY t.function_id, t.key`, func(rs *sql.Rows) error {
			var e pyEnv
			if err := rs.Scan(&e.ID, &e.FunctionID, &e.Key, &e.Value, &e.IsSecret, &e.CreatedAt, &e.UpdatedAt); err != nil {
				return err
			}
			out.env = append(out.env, e)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// The target's rows (the functions module's tables, columns the import owns).

type functionRow struct {
	bun.BaseModel `bun:"table:selfdb.functions,alias:fn"`

	ID              uuid.UUID  `bun:"id,pk,type:uuid"`
	Name            string     `bun:"name"`
	Description     *string    `bun:"description"`
	Code            string     `bun:"code"`
	IsActive        bool       `bun:"is_active"`
	OwnerID         uuid.UUID  `bun:"owner_id,type:uuid"`
	VersionNumber   int        `bun:"version_number"`
	AnalyzedVersion int        `bun:"analyzed_version"`
	CreatedAt       time.Time  `bun:"created_at"`
	UpdatedAt       *time.Time `bun:"updated_at"`
}

func (r functionRow) key() string   { return r.ID.String() }
func (r functionRow) label() string { return r.Name }
func (r functionRow) sig() string {
	return sig(r.Name, r.Description, r.Code, r.IsActive, r.OwnerID.String(), r.VersionNumber, r.CreatedAt, r.UpdatedAt)
}

type versionRow struct {
	bun.BaseModel `bun:"table:selfdb.function_versions,alias:fv"`

	ID            uuid.UUID  `bun:"id,pk,type:uuid"`
	FunctionID    uuid.UUID  `bun:"function_id,type:uuid"`
	VersionNumber int        `bun:"version_number"`
	Code          string     `bun:"code"`
	CreatedAt     time.Time  `bun:"created_at"`
	CreatedBy     *uuid.UUID `bun:"created_by,type:uuid"`
}

func (r versionRow) key() string { return r.ID.String() }
func (r versionRow) label() string {
	return fmt.Sprintf("version %d of function %s", r.VersionNumber, r.FunctionID)
}
func (r versionRow) sig() string {
	by := "<nil>"
	if r.CreatedBy != nil {
		by = r.CreatedBy.String()
	}
	return sig(r.FunctionID.String(), r.VersionNumber, r.Code, r.CreatedAt, by)
}

type envRow struct {
	bun.BaseModel `bun:"table:selfdb.function_env,alias:fe"`

	ID         uuid.UUID  `bun:"id,pk,type:uuid"`
	FunctionID uuid.UUID  `bun:"function_id,type:uuid"`
	Key        string     `bun:"key"`
	Value      string     `bun:"value"`
	IsSecret   bool       `bun:"is_secret"`
	CreatedAt  time.Time  `bun:"created_at"`
	UpdatedAt  *time.Time `bun:"updated_at"`
}

func (r envRow) key() string   { return r.ID.String() }
func (r envRow) label() string { return r.Key }
func (r envRow) sig() string {
	return sig(r.FunctionID.String(), r.Key, r.Value, r.IsSecret, r.CreatedAt, r.UpdatedAt)
}

// functionsPlan is what a run writes to functions (nil: the source has no
// functions table).
type functionsPlan struct {
	funcs    objectDiff[functionRow]
	versions objectDiff[versionRow]
	env      objectDiff[envRow]
	envBump  []uuid.UUID // existing functions whose env vars change
	all      []string    // every function name, for the cache
}

func (f *functionsPlan) changed() bool {
	return f != nil && (f.funcs.changed() || f.versions.changed() || f.env.changed())
}

func (f *functionsPlan) summary() string {
	return fmt.Sprintf("%s; versions %s; env vars %s", f.funcs.summary(), f.versions.summary(), f.env.summary())
}

func (f *functionsPlan) names() []string { return f.all }

var (
	functionName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	envKey       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

// placeholder reports whether Python stored a stand-in instead of the code.
func placeholder(code string) bool {
	c := strings.TrimSpace(code)
	return c == "" || strings.HasPrefix(c, "# Code stored in file system")
}

// functionCode finds a function's current code: its file in the functions
// directory, else its newest version row, else its own row, unless those
// hold Python's placeholder.
func (im *importer) functionCode(f pyFunction, versions []pyVersion) (string, string, bool) {
	if im.opts.FromFunctions != "" {
		for _, ext := range []string{".ts", ".js", ".tsx", ".jsx"} {
			p := filepath.Join(im.opts.FromFunctions, f.Name+ext)
			if b, err := os.ReadFile(p); err == nil {
				return string(b), p, true
			}
		}
	}
	for i := len(versions) - 1; i >= 0; i-- {
		if !placeholder(versions[i].Code) {
			return versions[i].Code, fmt.Sprintf("version %d in the database", versions[i].Number), true
		}
	}
	if !placeholder(f.Code) {
		return f.Code, "the database", true
	}
	return "", "", false
}

// versionIDs names the versions the import makes up (Python kept none for
// the current code): the same id on every run.
var versionIDs = uuid.MustParse("5f6c2a0e-6f3b-4d2e-9a51-1f0e4a7c9b11")

// planFunctions compares the source's functions with the target's.
func (im *importer) planFunctions(ctx context.Context, snap *snapshot, ap *accountsPlan) (*functionsPlan, error) {
	src := snap.funcs
	if src == nil {
		return nil, nil
	}
	fp := &functionsPlan{}
	actualFuncs, err := loadAll[functionRow](ctx, im.tgt)
	if err != nil {
		return nil, err
	}
	byFunction := map[uuid.UUID][]pyVersion{}
	for _, v := range src.versions {
		byFunction[v.FunctionID] = append(byFunction[v.FunctionID], v)
	}
	var funcs []functionRow
	var versions []versionRow
	known := map[uuid.UUID]bool{}
	for _, f := range src.funcs {
		fp.all = append(fp.all, f.Name)
		vs := byFunction[f.ID]
		sort.Slice(vs, func(i, j int) bool { return vs[i].Number < vs[j].Number })
		if !functionName.MatchString(f.Name) {
			im.problems.add("function %s: the name is not valid in SelfDB Go (^[a-z0-9][a-z0-9_-]{0,62}$); rename it on the Python side", f.Name)
			continue
		}
		if !ap.userIDs[f.OwnerID] {
			im.problems.add("function %s: its owner %s is not a user of the source", f.Name, f.OwnerID)
			continue
		}
		code, from, found := im.functionCode(f, vs)
		if !found {
			where := "no --from-functions was given"
			if im.opts.FromFunctions != "" {
				where = "no " + f.Name + ".ts in " + im.opts.FromFunctions
			}
			im.problems.add("function %s: its code is not in the Python database (only a placeholder) and %s", f.Name, where)
			a, ok := actualFuncs[f.ID.String()]
			if !ok {
				continue
			}
			code, from = a.Code, "the target (kept)" // not "gone from the source"
		}
		im.out.line("function %s: code from %s", f.Name, from)
		known[f.ID] = true
		funcs = append(funcs, functionRow{ID: f.ID, Name: f.Name, Description: f.Description, Code: code, IsActive: f.IsActive,
			OwnerID: f.OwnerID, VersionNumber: f.Version, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt})
		current := false
		for _, v := range vs {
			vc := v.Code
			switch {
			case v.Number == f.Version:
				vc, current = code, true
			case placeholder(vc):
				vc = fmt.Sprintf("// Version %d of %s: the Python SelfDB kept only its newest code (on disk); this version's code was not preserved.\n", v.Number, f.Name)
			}
			var by *uuid.UUID
			if v.CreatedBy != nil && ap.userIDs[*v.CreatedBy] {
				by = v.CreatedBy
			}
			versions = append(versions, versionRow{ID: v.ID, FunctionID: f.ID, VersionNumber: v.Number, Code: vc, CreatedAt: v.CreatedAt, CreatedBy: by})
		}
		if !current {
			owner := f.OwnerID
			at := f.CreatedAt
			if f.UpdatedAt != nil {
				at = *f.UpdatedAt
			}
			versions = append(versions, versionRow{ID: uuid.NewSHA1(versionIDs, []byte(fmt.Sprintf("%s/%d", f.ID, f.Version))),
				FunctionID: f.ID, VersionNumber: f.Version, Code: code, CreatedAt: at, CreatedBy: &owner})
		}
	}
	for _, a := range actualFuncs {
		for _, f := range funcs {
			if a.Name == f.Name && a.ID != f.ID && !im.state.has(kindFunction, a.key()) {
				im.problems.add("the target already has a function named %s (id %s) that the import did not create; the Python function has id %s", a.Name, a.ID, f.ID)
			}
		}
	}
	fp.funcs = diffObjects(im, kindFunction, "function", funcs, actualFuncs)
	actualVersions, err := loadAll[versionRow](ctx, im.tgt)
	if err != nil {
		return nil, err
	}
	fp.versions = diffObjects(im, kindVersion, "function version", versions, actualVersions)
	var env []envRow
	for _, e := range src.env {
		if !known[e.FunctionID] {
			continue
		}
		if !envKey.MatchString(e.Key) {
			im.problems.add("function env var %s (id %s): the key is not valid in SelfDB Go (^[A-Za-z_][A-Za-z0-9_]{0,127}$)", e.Key, e.ID)
			continue
		}
		env = append(env, envRow{ID: e.ID, FunctionID: e.FunctionID, Key: e.Key, Value: e.Value, IsSecret: e.IsSecret,
			CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt})
	}
	actualEnv, err := loadAll[envRow](ctx, im.tgt)
	if err != nil {
		return nil, err
	}
	fp.env = diffObjects(im, kindEnv, "function env var", env, actualEnv)
	bump := map[uuid.UUID]bool{}
	for _, e := range fp.env.upserts {
		bump[e.FunctionID] = true
	}
	for _, id := range fp.env.deletes {
		bump[actualEnv[id.String()].FunctionID] = true
	}
	for id := range bump {
		if _, ok := actualFuncs[id.String()]; ok {
			fp.envBump = append(fp.envBump, id)
		}
	}
	return fp, nil
}

// applyFunctions writes functions, versions and env vars (after users).
func (im *importer) applyFunctions(ctx context.Context, fp *functionsPlan) error {
	if !fp.changed() {
		return nil
	}
	for i := range fp.funcs.upserts {
		fp.funcs.upserts[i].AnalyzedVersion = 0 // the runtime reads the code's triggers again
	}
	if err := deleteIDs(ctx, im.tgt, "selfdb.function_env", fp.env.deletes); err != nil {
		return err
	}
	if err := deleteIDs(ctx, im.tgt, "selfdb.function_versions", fp.versions.deletes); err != nil {
		return err
	}
	if err := deleteIDs(ctx, im.tgt, "selfdb.functions", fp.funcs.deletes); err != nil {
		return err
	}
	if err := upsert(ctx, im.tgt, fp.funcs.upserts, "name", "description", "code", "is_active", "owner_id", "version_number",
		"analyzed_version", "created_at", "updated_at"); err != nil {
		return err
	}
	if err := upsert(ctx, im.tgt, fp.versions.upserts, "function_id", "version_number", "code", "created_at", "created_by"); err != nil {
		return err
	}
	if err := upsert(ctx, im.tgt, fp.env.upserts, "function_id", "key", "value", "is_secret", "created_at", "updated_at"); err != nil {
		return err
	}
	if len(fp.envBump) > 0 {
		// Runtimes load a function's env once per env_version.
		if _, err := im.tgt.NewUpdate().TableExpr("selfdb.functions").Set("env_version = env_version + 1").
			Where("id IN (?)", bun.List(fp.envBump)).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

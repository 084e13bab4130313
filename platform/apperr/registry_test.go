package apperr_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The error-code registry is the source itself (design.md §3, §13): every
// code is one package-level variable, built by an apperr constructor with a
// literal code, in its package's errors.go, and listed in that package's
// doc.go under "Error codes". Everything else (WithMessage, Wrap, aliases)
// reuses a declared error. This test reads every non-test Go file of the
// module and holds that shape.

const apperrPath = "github.com/selfdb/selfdb/platform/apperr"

// constructors are apperr's functions that make a new code, with the index
// of their code argument.
var constructors = map[string]int{
	"Invalid": 0, "Unauthenticated": 0, "Forbidden": 0, "NotFound": 0, "Conflict": 0,
	"TooLarge": 0, "RateLimited": 0, "Unavailable": 0, "Timeout": 0, "New": 1,
}

// declaration is one code's one declaration.
type declaration struct {
	code string
	dir  string // the package's directory, relative to the module root
	pos  string
}

// registry holds what the walk found.
type registry struct {
	decls    []declaration
	problems []string
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// scan reads every non-test Go file under root.
func scan(t *testing.T, root string) *registry {
	t.Helper()
	reg := &registry{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		reg.file(fset, filepath.ToSlash(rel), f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// file records the declarations of one file and refuses codes made anywhere
// else than a package-level variable of errors.go.
func (reg *registry) file(fset *token.FileSet, rel string, f *ast.File) {
	dir := filepath.ToSlash(filepath.Dir(rel))
	inApperr := dir == "platform/apperr"
	local := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == apperrPath {
			local = "apperr"
			if imp.Name != nil {
				local = imp.Name.Name
			}
		}
	}
	if local == "" && !inApperr {
		return
	}
	// Package-level var specs: where declarations belong.
	topLevel := map[ast.Node]bool{}
	for _, decl := range f.Decls {
		if gd, ok := decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
			for _, spec := range gd.Specs {
				topLevel[spec] = true
			}
		}
	}
	var stack []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		pos := fset.Position(n.Pos())
		where := rel + ":" + strconv.Itoa(pos.Line)
		atTop := false
		for _, s := range stack {
			atTop = atTop || topLevel[s]
		}
		switch x := n.(type) {
		case *ast.CallExpr:
			sel, ok := x.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok || pkg.Name != local {
				return true
			}
			arg, ok := constructors[sel.Sel.Name]
			if !ok {
				return true
			}
			if len(x.Args) <= arg {
				reg.problems = append(reg.problems, where+": apperr."+sel.Sel.Name+" without a code")
				return true
			}
			lit, ok := x.Args[arg].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				reg.problems = append(reg.problems, where+": an error code must be a string literal")
				return true
			}
			code, _ := strconv.Unquote(lit.Value)
			reg.declare(code, dir, where, atTop, filepath.Base(rel))
		case *ast.CompositeLit:
			// apperr's own codes (internal, validation_failed) are set in
			// Error literals; nobody else builds one.
			if !isErrorType(x.Type, local, inApperr) {
				return true
			}
			if !inApperr {
				reg.problems = append(reg.problems, where+": build errors with apperr's constructors, not an apperr.Error literal")
				return true
			}
			for _, el := range x.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Code" {
					if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						code, _ := strconv.Unquote(lit.Value)
						reg.decls = append(reg.decls, declaration{code: code, dir: dir, pos: where})
					}
				}
			}
		}
		return true
	})
}

func isErrorType(e ast.Expr, local string, inApperr bool) bool {
	switch t := e.(type) {
	case *ast.Ident:
		return inApperr && t.Name == "Error"
	case *ast.SelectorExpr:
		pkg, ok := t.X.(*ast.Ident)
		return ok && pkg.Name == local && t.Sel.Name == "Error"
	}
	return false
}

func (reg *registry) declare(code, dir, where string, atTop bool, file string) {
	if dir == "platform/apperr" {
		return // the constructors' own bodies
	}
	switch {
	case !atTop:
		reg.problems = append(reg.problems, where+": code "+strconv.Quote(code)+" is made inside a function: declare it once as a package-level variable in errors.go")
	case file != "errors.go":
		reg.problems = append(reg.problems, where+": code "+strconv.Quote(code)+" is declared outside errors.go")
	}
	reg.decls = append(reg.decls, declaration{code: code, dir: dir, pos: where})
}

var (
	codeWord = regexp.MustCompile(`[a-z][a-z0-9]*(?:_[a-z0-9]+)*`)
	codesAt  = regexp.MustCompile(`(?s)Error codes[^:]*:(.*?)(?:\n\n|$)`)
)

// listedCodes returns the words of the "Error codes" paragraph of a
// package's doc comment (doc.go), or nil and false when it has none.
func listedCodes(t *testing.T, dir string) (map[string]bool, bool) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, "doc.go"), nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil || f.Doc == nil {
		return nil, false
	}
	m := codesAt.FindStringSubmatch(f.Doc.Text())
	if m == nil {
		return nil, false
	}
	words := map[string]bool{}
	for _, w := range codeWord.FindAllString(m[1], -1) {
		words[w] = true
	}
	return words, true
}

func TestErrorCodesAreDeclaredOnce(t *testing.T) {
	root := moduleRoot(t)
	reg := scan(t, root)
	for _, p := range reg.problems {
		t.Error(p)
	}
	if len(reg.decls) < 50 {
		t.Fatalf("only %d error codes found; the scan is broken", len(reg.decls))
	}
	byCode := map[string][]declaration{}
	for _, d := range reg.decls {
		byCode[d.code] = append(byCode[d.code], d)
	}
	codes := make([]string, 0, len(byCode))
	for c := range byCode {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		if ds := byCode[c]; len(ds) > 1 {
			where := make([]string, len(ds))
			for i, d := range ds {
				where[i] = d.pos
			}
			t.Errorf("code %q is declared %d times (%s): declare it once, in the package that owns it, and reuse that error", c, len(ds), strings.Join(where, ", "))
		}
	}
}

func TestErrorCodesAreDocumented(t *testing.T) {
	root := moduleRoot(t)
	reg := scan(t, root)
	declared := map[string]bool{}
	byDir := map[string][]declaration{}
	for _, d := range reg.decls {
		declared[d.code] = true
		byDir[d.dir] = append(byDir[d.dir], d)
	}
	for dir, ds := range byDir {
		listed, ok := listedCodes(t, filepath.Join(root, dir))
		if !ok {
			t.Errorf("%s/doc.go has no \"Error codes:\" paragraph in its package comment; it declares %d codes", dir, len(ds))
			continue
		}
		for _, d := range ds {
			if !listed[d.code] {
				t.Errorf("%s: code %q is missing from %s/doc.go's \"Error codes\"", d.pos, d.code, dir)
			}
		}
	}
	// A listed code that nothing declares is a stale or misspelt entry.
	// Single words are prose ("plus", "see"); codes with an underscore are
	// checked, in every doc.go that has the paragraph.
	dirs := []string{}
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "doc.go" {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	for _, dir := range dirs {
		listed, ok := listedCodes(t, dir)
		if !ok {
			continue
		}
		rel, _ := filepath.Rel(root, dir)
		for w := range listed {
			if strings.Contains(w, "_") && !declared[w] {
				t.Errorf("%s/doc.go lists %q, which no package declares", filepath.ToSlash(rel), w)
			}
		}
	}
}

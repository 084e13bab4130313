package testkit

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Case is one HTTP scenario: a request and what must come back.
type Case struct {
	Name string
	Req
	Status int
	// Want is matched against the JSON body as a subset: every key given must
	// be present with an equal value (recursively); Present matches any value,
	// Absent requires the key to be missing. A slice must match element-wise
	// with equal length.
	Want any
	// Header values that must be present.
	WantHeader map[string]string
	// Check runs any further assertion.
	Check func(t *testing.T, r *Response)
}

type marker string

// Present matches any value of a key that must exist.
const Present marker = "<present>"

// Absent requires a key not to exist.
const Absent marker = "<absent>"

// Run runs the cases as subtests, in order.
func Run(t *testing.T, a *App, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			r := a.Do(t, c.Req)
			if r.Status != c.Status {
				t.Fatalf("%s %s: status %d, want %d; body: %s", c.Method, c.Path, r.Status, c.Status, r.Body)
			}
			for k, v := range c.WantHeader {
				if got := r.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if c.Want != nil {
				var got any
				if err := json.Unmarshal(r.Body, &got); err != nil {
					t.Fatalf("body is not JSON: %s", r.Body)
				}
				if msg := Match(c.Want, got); msg != "" {
					t.Errorf("body mismatch: %s\nbody: %s", msg, r.Body)
				}
			}
			if c.Check != nil {
				c.Check(t, r)
			}
		})
	}
}

// Match compares want (a subset, built from Go values) with a decoded JSON
// value and returns "" or what differs.
func Match(want, got any) string {
	return match("$", normalize(want), got)
}

func normalize(v any) any {
	if _, ok := v.(marker); ok {
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return restoreMarkers(v, out)
}

// restoreMarkers keeps Present/Absent, which JSON turned into strings.
func restoreMarkers(_ any, v any) any {
	switch x := v.(type) {
	case string:
		if x == string(Present) || x == string(Absent) {
			return marker(x)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = restoreMarkers(nil, e)
		}
	case []any:
		for i, e := range x {
			x[i] = restoreMarkers(nil, e)
		}
	}
	return v
}

func match(path string, want, got any) string {
	switch w := want.(type) {
	case marker:
		if w == Present {
			return ""
		}
		return fmt.Sprintf("%s: should be absent", path)
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want object, got %v", path, got)
		}
		for k, wv := range w {
			gv, present := g[k]
			if wv == Absent {
				if present {
					return fmt.Sprintf("%s.%s: should be absent, got %v", path, k, gv)
				}
				continue
			}
			if !present {
				return fmt.Sprintf("%s.%s: missing", path, k)
			}
			if msg := match(path+"."+k, wv, gv); msg != "" {
				return msg
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: want array, got %v", path, got)
		}
		if len(g) != len(w) {
			return fmt.Sprintf("%s: want %d elements, got %d", path, len(w), len(g))
		}
		for i := range w {
			if msg := match(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); msg != "" {
				return msg
			}
		}
		return ""
	}
	if !reflect.DeepEqual(want, got) {
		return fmt.Sprintf("%s: want %v, got %v", path, want, got)
	}
	return ""
}

var update = flag.Bool("update", false, "rewrite golden files")

// Golden compares got with testdata/<name>.golden; -update rewrites it.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run with -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from golden file:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/selfdb/selfdb/migrations"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/testkit"
	"go.uber.org/fx"
)

// TestMain runs the tests, or, with SELFDB_TEST_RUN set (space-separated
// arguments), is selfdb itself: tests of what the process prints and how it
// exits run the test binary that way.
func TestMain(m *testing.M) {
	if args := os.Getenv("SELFDB_TEST_RUN"); args != "" {
		os.Exit(run(strings.Fields(args)))
	}
	testkit.Main(m)
}

// setEnv puts the test configuration (plus overrides) into the process
// environment, which the subcommands read.
func setEnv(t *testing.T, kv ...string) {
	t.Helper()
	env := testkit.TestEnv(t)
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// stdout runs f and returns what it printed.
func stdout(t *testing.T, f func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	ferr := f()
	os.Stdout = saved
	w.Close()
	out, _ := io.ReadAll(r)
	r.Close()
	return string(out), ferr
}

// The product's whole graph (platform and every module of main.go) starts
// and is ready; the time to a 200 from /readyz is reported.
func TestAppWithAllModulesStarts(t *testing.T) {
	start := time.Now()
	app := testkit.Start(t, testkit.With(modules))
	r := app.Do(t, testkit.Req{Method: "GET", Path: "/readyz", NoKey: true}).Expect(t, 200)
	t.Logf("start to /readyz 200 with every module: %s (%s)", time.Since(start).Round(time.Millisecond), r.Body)

	// healthcheck (the Docker HEALTHCHECK) against the real listener.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(app.URL(), "http://"))
	t.Setenv("API_PORT", port)
	if err := healthcheck(); err != nil {
		t.Fatalf("healthcheck against a ready server: %v", err)
	}
}

func TestHealthcheckFails(t *testing.T) {
	t.Setenv("API_PORT", strconv.Itoa(testkit.FreePort(t)))
	if err := healthcheck(); err == nil {
		t.Fatal("healthcheck passed with nothing listening")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			t.Errorf("healthcheck called %s", r.URL.Path)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	t.Setenv("API_PORT", port)
	if err := healthcheck(); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("healthcheck with /readyz 503: %v", err)
	}
}

// selfdb migrate up|status|down on an empty database.
func TestMigrateCommand(t *testing.T) {
	setEnv(t, "DATABASE_URL", testkit.ScratchDatabase(t))
	var names []string
	for _, m := range migrations.Migrations.Sorted() {
		names = append(names, m.String())
	}
	count := func(out, prefix string) int {
		n := 0
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, prefix) {
				n++
			}
		}
		return n
	}

	out, err := stdout(t, func() error { return migrate("status") })
	if err != nil || count(out, "pending ") != len(names) {
		t.Fatalf("status on an empty database: %v\n%s", err, out)
	}
	out, err = stdout(t, func() error { return migrate("up") })
	if err != nil || count(out, "applied ") != len(names) {
		t.Fatalf("up: %v\n%s", err, out)
	}
	for _, n := range names {
		if !strings.Contains(out, n) {
			t.Errorf("up didn't report %s:\n%s", n, out)
		}
	}
	out, err = stdout(t, func() error { return migrate("up") })
	if err != nil || !strings.Contains(out, "nothing to apply") {
		t.Fatalf("second up: %v\n%s", err, out)
	}
	out, err = stdout(t, func() error { return migrate("status") })
	if err != nil || count(out, "applied ") != len(names) || count(out, "pending ") != 0 {
		t.Fatalf("status after up: %v\n%s", err, out)
	}
	out, err = stdout(t, func() error { return migrate("down") })
	if err != nil || count(out, "rolled back ") != len(names) {
		t.Fatalf("down: %v\n%s", err, out)
	}
	out, err = stdout(t, func() error { return migrate("down") })
	if err != nil || !strings.Contains(out, "nothing to roll back") {
		t.Fatalf("second down: %v\n%s", err, out)
	}
	if _, err := stdout(t, func() error { return migrate("sideways") }); err == nil || !strings.Contains(err.Error(), "sideways") {
		t.Fatalf("unknown subcommand: %v", err)
	}
}

// A bad variable stops the command with a message naming it.
func TestMigrateBadConfig(t *testing.T) {
	setEnv(t, "CACHE_TTL", "-1")
	if _, err := stdout(t, func() error { return migrate("up") }); err == nil || !strings.Contains(err.Error(), "CACHE_TTL") {
		t.Fatalf("bad CACHE_TTL: %v", err)
	}
}

// Two instances of the whole product starting at the same moment on an
// empty database (MIGRATE_ON_START) both become ready, and the migrations
// are applied exactly once.
func TestTwoInstancesStartOnEmptyDatabase(t *testing.T) {
	dbURL := testkit.ScratchDatabase(t)
	t.Run("instances", func(t *testing.T) {
		for i := range 2 {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				app := testkit.Start(t, testkit.With(modules), testkit.Env("DATABASE_URL", dbURL, "MIGRATE_ON_START", "true"))
				app.Do(t, testkit.Req{Method: "GET", Path: "/readyz", NoKey: true}).Expect(t, 200)
			})
		}
	})
	if t.Failed() {
		return
	}
	testkit.MigratedOnce(t, testkit.OpenDB(t, dbURL))
}

// Every variable the product reads, the platform's and each module's
// section (the config_sections group of the whole graph), is documented in
// configs/selfdb.example.env with the same default.
func TestExampleEnvDocumentsEveryModuleVariable(t *testing.T) {
	var sections struct {
		fx.In
		All []config.Settings `group:"config_sections"`
	}
	testkit.Start(t, testkit.With(modules, fx.Populate(&sections)))
	b, err := os.ReadFile("../../configs/selfdb.example.env")
	if err != nil {
		t.Fatal(err)
	}
	if len(sections.All) < 2 {
		t.Fatalf("%d modules contribute a config section; the group is broken", len(sections.All))
	}
	for _, s := range sections.All {
		for _, p := range config.Undocumented(string(b), config.VariablesOf(s.Value)) {
			t.Errorf("module %s: %s", s.Module, p)
		}
	}
}

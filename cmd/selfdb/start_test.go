package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfdb/selfdb/platform/testkit"
)

// output runs f with *stream (os.Stdout or os.Stderr) sent to a pipe and
// returns what f wrote there.
func output(t *testing.T, stream **os.File, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := *stream
	*stream = w
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	f()
	*stream = saved
	w.Close()
	b := <-done
	r.Close()
	return string(b)
}

// selfdb runs the test binary as `selfdb args...` (see TestMain) in dir with
// the process environment, and returns its exit code and stderr.
func selfdb(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SELFDB_TEST_RUN="+strings.Join(args, " "))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stderr.String()
	}
	t.Fatal(err)
	return 0, ""
}

// A database that does not answer at start: `selfdb serve` and `selfdb
// migrate` exit 1 with one line naming DATABASE_URL by host and port,
// without its password, instead of Fx's three error lines.
func TestDatabaseUnreachableIsOneLine(t *testing.T) {
	dir := t.TempDir() // no .env
	port := testkit.FreePort(t)
	const password = "s3cret-pw"
	setEnv(t, "DATABASE_URL", fmt.Sprintf("postgres://selfdb:%s@127.0.0.1:%d/selfdb", password, port), "DB_START_TIMEOUT", "300ms")
	for _, args := range [][]string{{"serve"}, {"migrate", "status"}} {
		code, stderr := selfdb(t, dir, args...)
		if code != 1 {
			t.Fatalf("selfdb %v exited %d: %s", args, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		want := fmt.Sprintf("selfdb: database unreachable: DATABASE_URL points at 127.0.0.1:%d, which did not answer within 300ms (DB_START_TIMEOUT): ", port)
		if !strings.HasPrefix(last, want) {
			t.Errorf("selfdb %v: last line %q, want it to start with %q", args, last, want)
		}
		for _, l := range lines {
			if strings.Contains(l, `"level":"error"`) || strings.Contains(l, "OnStart hook failed") || strings.Contains(l, "start failed") {
				t.Errorf("selfdb %v also printed %s", args, l)
			}
		}
		if strings.Contains(stderr, password) {
			t.Errorf("selfdb %v printed the password:\n%s", args, stderr)
		}
	}
}

// .env in the working directory is read by the commands that read the
// configuration; a variable already set in the environment wins; a bad
// line is reported by line.
func TestDotEnv(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	setEnv(t, "DATABASE_URL", testkit.ScratchDatabase(t))
	// What .env sets must not be in the real environment (restored after).
	for _, k := range []string{"CACHE_TTL", "SELFDB_DOTENV_PROBE", "SELFDB_DOTENV_QUOTED"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`# written by the test
export SELFDB_DOTENV_PROBE=from .env
SELFDB_DOTENV_QUOTED = 'a # b'
DATABASE_URL=postgres://nobody:pw@127.0.0.1:1/none

CACHE_TTL=-1
`)
	var code int
	stderr := output(t, &os.Stderr, func() { code = run([]string{"migrate", "status"}) })
	if code != 1 || !strings.Contains(stderr, "CACHE_TTL") {
		t.Fatalf(".env's bad CACHE_TTL not read: exit %d, %s", code, stderr)
	}
	if got := os.Getenv("SELFDB_DOTENV_PROBE"); got != "from .env" {
		t.Errorf("SELFDB_DOTENV_PROBE = %q", got)
	}
	if got := os.Getenv("SELFDB_DOTENV_QUOTED"); got != "a # b" {
		t.Errorf("SELFDB_DOTENV_QUOTED = %q", got)
	}
	// The real environment wins: its CACHE_TTL, and its DATABASE_URL (the
	// .env one answers nothing).
	t.Setenv("CACHE_TTL", "300")
	stdout := output(t, &os.Stdout, func() {
		stderr = output(t, &os.Stderr, func() { code = run([]string{"migrate", "status"}) })
	})
	if code != 0 || !strings.Contains(stdout, "pending ") {
		t.Fatalf("migrate status with the real environment winning: exit %d\n%s%s", code, stdout, stderr)
	}

	write("GOOD=1\nthis is not a variable\n")
	stderr = output(t, &os.Stderr, func() { code = run([]string{"migrate", "status"}) })
	if code != 1 || !strings.Contains(stderr, ".env line 2") {
		t.Fatalf("bad .env line: exit %d, %s", code, stderr)
	}
	output(t, &os.Stdout, func() { code = run([]string{"version"}) })
	if code != 0 {
		t.Errorf("version reads no .env, yet exited %d", code)
	}
}

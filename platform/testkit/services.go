package testkit

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"
)

// FreePort returns a loopback port nobody listens on.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitPort(addr string, up bool, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if c != nil {
			c.Close()
		}
		if (err == nil) == up {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not become %v within %s", addr, map[bool]string{true: "reachable", false: "closed"}[up], within)
}

// Memcached is a private memcached a test may stop and start again.
type Memcached struct {
	Addr string
	port int
	cmd  *exec.Cmd
	t    testing.TB
}

// StartMemcached runs a memcached of the test's own, stopped at cleanup.
func StartMemcached(t testing.TB) *Memcached {
	t.Helper()
	if _, err := exec.LookPath("memcached"); err != nil {
		t.Fatal("memcached is not installed; run `make test`")
	}
	m := &Memcached{port: FreePort(t), t: t}
	m.Addr = "127.0.0.1:" + strconv.Itoa(m.port)
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// Start (re)starts the server on the same port.
func (m *Memcached) Start() {
	m.t.Helper()
	args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(m.port), "-U", "0", "-m", "16"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	m.cmd = exec.Command("memcached", args...)
	if err := m.cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	if err := waitPort(m.Addr, true, 5*time.Second); err != nil {
		m.t.Fatal(err)
	}
}

// Stop kills the server.
func (m *Memcached) Stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
	m.cmd = nil
	_ = waitPort(m.Addr, false, 5*time.Second)
}

// Postgres is a private PostgreSQL cluster a test may stop and start again.
type Postgres struct {
	URL  string
	dir  string
	port int
	bin  string
	t    testing.TB
}

func pgBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	if len(dirs) > 0 {
		return dirs[len(dirs)-1]
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// StartPostgres initialises and starts a cluster of the test's own (a few
// seconds), stopped and removed at cleanup. URL names its "postgres" database.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin := pgBinDir()
	if bin == "" {
		t.Fatal("PostgreSQL binaries not found; run `make test`")
	}
	dir, err := os.MkdirTemp("", "selfdb-pg-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755)
	p := &Postgres{dir: filepath.Join(dir, "data"), port: FreePort(t), bin: bin, t: t}
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
	if err := os.Mkdir(p.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p.chown(dir)
	p.run("initdb", "-D", p.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	p.Start()
	t.Cleanup(func() {
		p.Stop()
		_ = os.RemoveAll(dir)
	})
	return p
}

func (p *Postgres) chown(dir string) {
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		p.t.Fatal("running as root needs a postgres user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	_ = filepath.Walk(dir, func(path string, _ os.FileInfo, _ error) error { return os.Chown(path, uid, gid) })
}

func (p *Postgres) run(tool string, args ...string) {
	p.t.Helper()
	path := filepath.Join(p.bin, tool)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("%s: %v\n%s", tool, err, out)
	}
}

// Start starts the cluster on its port.
func (p *Postgres) Start() {
	p.t.Helper()
	p.run("pg_ctl", "-D", p.dir, "-w", "-t", "30", "-l", filepath.Join(p.dir, "server.log"),
		"-o", fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off", p.port, p.dir), "start")
}

// Stop stops the cluster (fast shutdown: connections are cut).
func (p *Postgres) Stop() {
	p.t.Helper()
	if _, err := os.Stat(filepath.Join(p.dir, "postmaster.pid")); err != nil {
		return
	}
	p.run("pg_ctl", "-D", p.dir, "-m", "fast", "-w", "stop")
}

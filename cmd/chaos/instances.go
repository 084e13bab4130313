package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// instance is one running bin/selfdb.
type instance struct {
	name string
	base string // http://127.0.0.1:port
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startInstances starts n selfdb processes with this process's environment
// (same keys, memcached and CACHE_PREFIX), each on a free loopback port and
// on dbURL, at once (their migrations meet at the advisory lock), and waits
// for each /readyz to answer 200.
func startInstances(ctx context.Context, o options, n int, dbURL string) ([]*instance, error) {
	var insts []*instance
	for i := range n {
		port, err := freePort()
		if err != nil {
			return insts, err
		}
		name := string(rune('A' + i))
		in := &instance{name: name, base: fmt.Sprintf("http://127.0.0.1:%d", port),
			log: filepath.Join(o.dir, "selfdb-"+name+".log"), done: make(chan struct{})}
		f, err := os.Create(in.log)
		if err != nil {
			return insts, err
		}
		in.cmd = exec.Command(o.selfdb, "serve")
		in.cmd.Env = append(os.Environ(), fmt.Sprintf("API_PORT=%d", port), "API_HOST=127.0.0.1", "DATABASE_URL="+dbURL)
		in.cmd.Stdout, in.cmd.Stderr = f, f
		dieWithParent(in.cmd)
		if err := in.cmd.Start(); err != nil {
			f.Close()
			return insts, err
		}
		go func() { in.cmd.Wait(); f.Close(); close(in.done) }()
		insts = append(insts, in)
	}
	for _, in := range insts {
		if err := in.waitReady(ctx, time.Minute); err != nil {
			return insts, err
		}
		say("instance %s ready on %s (log %s)", in.name, in.base, in.log)
	}
	return insts, nil
}

func (in *instance) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-in.done:
			return fmt.Errorf("instance %s exited: %s", in.name, tail(in.log))
		default:
		}
		if readyz(in.base) == 200 {
			return nil
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("instance %s not ready after %s: %s", in.name, limit, tail(in.log))
}

// readyz returns the status of GET /readyz (0 when nothing answers).
func readyz(base string) int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// alive reports whether the instance still runs.
func (in *instance) alive() bool {
	select {
	case <-in.done:
		return false
	default:
		return true
	}
}

// stopInstances stops them as an orchestrator would (SIGTERM, then SIGKILL
// past the shutdown timeout).
func stopInstances(insts []*instance) {
	for _, in := range insts {
		_ = in.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, in := range insts {
		select {
		case <-in.done:
		case <-time.After(20 * time.Second):
			_ = in.cmd.Process.Kill()
			<-in.done
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the end of a log file, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return s
}

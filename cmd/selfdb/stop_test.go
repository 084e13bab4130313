package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// stopServices runs `make stop`'s command on dir.
func stopServices(t *testing.T, dir string) {
	t.Helper()
	out, err := exec.Command("bash", "../../.ci/services.sh", "stop", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("services.sh stop: %v\n%s", err, out)
	}
}

// `make stop` stops the server `make run` started (its pid in
// .data/selfdb.pid, written by .ci/dev.sh) besides the services, and never
// signals a process that is not selfdb (a recycled pid).
func TestMakeStopStopsTheServer(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "selfdb.pid")
	// start runs script as a child and records its pid; done closes when
	// it exits.
	start := func(script string) (*exec.Cmd, chan struct{}) {
		t.Helper()
		c := exec.Command("bash", "-c", script)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			_ = c.Wait()
			close(done)
		}()
		t.Cleanup(func() {
			_ = c.Process.Kill()
			<-done
		})
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(c.Process.Pid)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return c, done
	}

	// A stand-in for bin/selfdb serve, as dev.sh execs it.
	_, done := start("exec -a bin/selfdb sleep 60")
	time.Sleep(100 * time.Millisecond) // the exec has happened
	stopServices(t, dir)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("make stop left the server running")
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}

	// A pid file naming another program: left alone.
	_, done = start("exec sleep 60")
	time.Sleep(100 * time.Millisecond)
	stopServices(t, dir)
	select {
	case <-done:
		t.Fatal("make stop signalled a process that is not selfdb")
	case <-time.After(300 * time.Millisecond):
	}
}

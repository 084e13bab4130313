package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The faults, in the order of a default run.
var allFaults = []string{"pg_restart", "mc_stall", "mc_kill", "pg_hang"}

// fault is one injected outage: from start (first harm) to end (the
// dependency is back), since the run's t0.
type fault struct {
	name       string
	start, end time.Duration
	err        error
}

// injector breaks the services behind both instances.
type injector struct {
	proxy     *proxy // Postgres as the instances see it
	pgRestart string // shell command: pg_ctl restart -m fast
	mcPidfile string // memcached's pid (STOP, CONT, KILL)
	mcRestart string // shell command starting memcached again on its port
	mcAddr    string
	outage    time.Duration // length of a stall, a hang, the gap after a kill
	t0        time.Time
}

// schedule injects the named faults spread evenly over duration (one in each
// of len(names)+1 equal slices after the first), and returns what happened.
func (in *injector) schedule(ctx context.Context, names []string, duration time.Duration) []fault {
	gap := duration / time.Duration(len(names)+1)
	var out []fault
	for i, name := range names {
		if !sleepCtx(ctx, time.Until(in.t0.Add(gap*time.Duration(i+1)))) {
			break
		}
		f := in.inject(ctx, name)
		say("%s: %.1fs–%.1fs%s", name, f.start.Seconds(), f.end.Seconds(), errSuffix(f.err))
		out = append(out, f)
	}
	return out
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return " FAILED: " + err.Error()
}

func (in *injector) now() time.Duration { return time.Since(in.t0) }

func (in *injector) inject(ctx context.Context, name string) fault {
	f := fault{name: name, start: in.now()}
	switch name {
	case "pg_restart":
		// The outage is the restart itself: -m fast ends every session, then
		// the shutdown checkpoint (fsync on) and the start.
		f.err = shell(ctx, in.pgRestart)
	case "mc_stall":
		f.err = in.mcSignal(syscall.SIGSTOP)
		if f.err == nil {
			sleepCtx(ctx, in.outage)
			f.err = in.mcSignal(syscall.SIGCONT)
		}
	case "mc_kill":
		f.err = in.mcKill(ctx)
	case "pg_hang":
		in.proxy.hang()
		sleepCtx(ctx, in.outage)
		in.proxy.heal()
	default:
		f.err = fmt.Errorf("unknown fault %q (known: %s)", name, strings.Join(allFaults, ", "))
	}
	f.end = in.now()
	return f
}

func (in *injector) mcPid() (int, error) {
	b, err := os.ReadFile(in.mcPidfile)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func (in *injector) mcSignal(sig syscall.Signal) error {
	pid, err := in.mcPid()
	if err != nil {
		return err
	}
	return syscall.Kill(pid, sig)
}

// mcKill kills memcached with SIGKILL, leaves it dead for the outage and
// starts a new, empty one on the same port.
func (in *injector) mcKill(ctx context.Context) error {
	if err := in.mcSignal(syscall.SIGKILL); err != nil {
		return err
	}
	t := time.Now()
	// The pid may stay a zombie nobody reaps: the restart must not take it
	// for a running memcached.
	if err := os.Remove(in.mcPidfile); err != nil {
		return err
	}
	for listening(in.mcAddr) && time.Since(t) < 5*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	sleepCtx(ctx, in.outage-time.Since(t))
	if err := shell(ctx, in.mcRestart); err != nil {
		return err
	}
	if !listening(in.mcAddr) {
		return fmt.Errorf("memcached did not come back on %s", in.mcAddr)
	}
	return nil
}

// release undoes what an interrupted fault may have left: a stopped memcached,
// a hung proxy.
func (in *injector) release() {
	_ = in.mcSignal(syscall.SIGCONT)
	in.proxy.heal()
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// shell runs a command line of .ci/chaos.sh, its output to our stderr.
func shell(ctx context.Context, cmdline string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", cmdline)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", cmdline, err)
	}
	return nil
}

// sleepCtx sleeps d unless ctx ends first (false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

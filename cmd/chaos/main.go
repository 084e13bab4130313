// Command chaos is `make chaos`: a bounded load client and fault injector
// for two selfdb instances sharing one PostgreSQL and one memcached.
//
// .ci/chaos.sh starts throwaway services and runs it. It puts a TCP proxy in
// front of Postgres (so that Postgres can be hung), starts two bin/selfdb
// processes through it, and then, by CHAOS_MODE:
//
//   - chaos: CHAOS_WORKERS closed-loop clients plus CHAOS_RATE open-loop
//     operations a second for CHAOS_DURATION, each request to the next
//     instance in turn, a mix of table inserts and reads, users/me,
//     file upload and download, SQL console queries and logins, while
//     Postgres is restarted (pg_ctl restart -m fast), memcached is stalled
//     (SIGSTOP for CHAOS_OUTAGE), killed (SIGKILL, restarted empty after
//     CHAOS_OUTAGE) and Postgres is hung (the proxy swallows every byte for
//     CHAOS_OUTAGE). It then checks every acknowledged insert against the
//     table and prints requests, errors, latency per phase and recovery
//     times.
//   - steps: per route group, 1, 2, 4 … CHAOS_STEPS concurrent clients for
//     CHAOS_STEP each; req/s and p99 per step and the first step where the
//     route slows down.
//   - all (default): chaos, then steps.
//
// It exits 1 when an acknowledged write is lost, a request failed other than
// with a 503, a 503 took longer than CHAOS_SLOW_ERROR, or a body was wrong.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	mode          string
	dir           string
	selfdb        string
	pgURL         string
	pgRestart     string
	mcPidfile     string
	mcRestart     string
	workers       int
	rate          int
	duration      time.Duration
	outage        time.Duration
	step          time.Duration
	steps         []int
	faults        []string
	clientTimeout time.Duration
	slowError     time.Duration
}

func main() {
	o, err := parseOptions()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		if code == 0 {
			code = 1
		}
	}
	if ctx.Err() != nil {
		code = 130
	}
	os.Exit(code)
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "chaos: "+format+"\n", args...)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

func parseOptions() (options, error) {
	var o options
	var steps, faults string
	workers, _ := strconv.Atoi(env("CHAOS_WORKERS", "8"))
	rate, _ := strconv.Atoi(env("CHAOS_RATE", "20"))
	// The server's own bound on a request's database work (see
	// DB_QUERY_TIMEOUT in configs/selfdb.example.env), plus a second.
	bound := envDuration("DB_ACQUIRE_TIMEOUT", 2*time.Second) + envDuration("DB_QUERY_TIMEOUT", 5*time.Second) + time.Second
	flag.StringVar(&o.mode, "mode", env("CHAOS_MODE", "all"), "chaos, steps or all")
	flag.StringVar(&o.dir, "dir", "", "directory for the instances' logs and storage (required)")
	flag.StringVar(&o.selfdb, "selfdb", "bin/selfdb", "the server binary")
	flag.StringVar(&o.pgURL, "pg-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL (the instances reach it through a proxy)")
	flag.StringVar(&o.pgRestart, "pg-restart", "", "shell command restarting Postgres (pg_ctl restart -m fast)")
	flag.StringVar(&o.mcPidfile, "mc-pidfile", "", "memcached's pid file")
	flag.StringVar(&o.mcRestart, "mc-restart", "", "shell command starting memcached again on MEMCACHED_ADDR")
	flag.IntVar(&o.workers, "workers", workers, "concurrent clients of the fault run (CHAOS_WORKERS)")
	flag.IntVar(&o.rate, "rate", rate, "open-loop operations a second besides the workers (CHAOS_RATE)")
	flag.DurationVar(&o.duration, "duration", envDuration("CHAOS_DURATION", 100*time.Second), "length of the fault run (CHAOS_DURATION)")
	flag.DurationVar(&o.outage, "outage", envDuration("CHAOS_OUTAGE", 5*time.Second), "length of a stall, a hang, a kill (CHAOS_OUTAGE)")
	flag.DurationVar(&o.step, "step", envDuration("CHAOS_STEP", 2*time.Second), "length of one step of the step test (CHAOS_STEP)")
	flag.StringVar(&steps, "steps", env("CHAOS_STEPS", "1,2,4,8,16,32,64,128"), "concurrencies of the step test (CHAOS_STEPS)")
	flag.StringVar(&faults, "faults", env("CHAOS_FAULTS", strings.Join(allFaults, ",")), "faults in order (CHAOS_FAULTS)")
	flag.DurationVar(&o.clientTimeout, "client-timeout", envDuration("CHAOS_CLIENT_TIMEOUT", 30*time.Second), "the client's limit per request")
	flag.DurationVar(&o.slowError, "slow-error", envDuration("CHAOS_SLOW_ERROR", bound), "an error slower than this fails the run (CHAOS_SLOW_ERROR)")
	flag.Parse()
	for _, f := range strings.Split(steps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return o, fmt.Errorf("bad step %q", f)
		}
		o.steps = append(o.steps, n)
	}
	for _, f := range strings.Split(faults, ",") {
		if f = strings.TrimSpace(f); f != "" {
			o.faults = append(o.faults, f)
		}
	}
	switch {
	case o.mode != "chaos" && o.mode != "steps" && o.mode != "all":
		return o, fmt.Errorf("mode %q: want chaos, steps or all", o.mode)
	case o.dir == "" || o.pgURL == "":
		return o, fmt.Errorf("-dir and -pg-url (or DATABASE_URL) are required; run `make chaos`")
	case o.workers < 1:
		return o, fmt.Errorf("CHAOS_WORKERS must be at least 1")
	case o.mode != "steps" && o.duration/time.Duration(len(o.faults)+1) < o.outage+2*time.Second:
		return o, fmt.Errorf("CHAOS_DURATION %s is too short for %d faults of %s", o.duration, len(o.faults), o.outage)
	}
	return o, nil
}

func run(ctx context.Context, o options) (int, error) {
	pg, err := url.Parse(o.pgURL)
	if err != nil {
		return 0, fmt.Errorf("pg-url: %w", err)
	}
	px, err := startProxy(pg.Host)
	if err != nil {
		return 0, err
	}
	defer px.close()
	viaProxy := *pg
	viaProxy.Host = px.addr()

	insts, err := startInstances(ctx, o, 2, viaProxy.String())
	defer stopInstances(insts)
	if err != nil {
		return 0, err
	}
	bases := make([]string, len(insts))
	for i, in := range insts {
		bases[i] = in.base
	}
	a := newAPI(bases, os.Getenv("ANON_KEY"), o.clientTimeout)
	s, err := setup(ctx, a, env("DEFAULT_ADMIN_EMAIL", "admin@example.com"), os.Getenv("DEFAULT_ADMIN_PASSWORD"))
	if err != nil {
		return 0, fmt.Errorf("setup: %w", err)
	}
	code := 0
	if o.mode != "steps" {
		in := &injector{proxy: px, pgRestart: o.pgRestart, mcPidfile: o.mcPidfile, mcRestart: o.mcRestart,
			mcAddr: os.Getenv("MEMCACHED_ADDR"), outage: o.outage}
		defer in.release()
		res, err := chaosRun(ctx, o, s, in, o.pgURL)
		if err != nil {
			return 1, err
		}
		res.instances = insts
		if !res.print(os.Stdout, o) {
			code = 1
		}
		if ctx.Err() != nil {
			return code, nil
		}
	}
	if o.mode != "chaos" {
		if !sleepCtx(ctx, 3*time.Second) { // let the fault run's last requests drain
			return code, nil
		}
		printSteps(os.Stdout, stepTest(ctx, o, s), o)
	}
	return code, nil
}

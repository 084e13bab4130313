package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// stepGroup is one route group of the step test and the operation a client
// repeats for it.
type stepGroup struct {
	name string
	op   func(w *worker, ctx context.Context)
}

func stepGroups(s *session) []stepGroup {
	return []stepGroup{
		{"users_me", func(w *worker, ctx context.Context) { w.me(ctx) }},
		{"tables_read", func(w *worker, ctx context.Context) { w.read(ctx, stepsTable) }},
		{"tables_insert", func(w *worker, ctx context.Context) { w.insert(ctx, stepsTable) }},
		{"files_info", func(w *worker, ctx context.Context) {
			w.call(ctx, gFiles, req{method: "GET", path: "/api/v1/files/" + s.fileID + "/download-info", token: w.token}, nil)
		}},
		{"files_bytes", func(w *worker, ctx context.Context) {
			w.call(ctx, gBytes, req{method: "GET", path: s.fileURL, noKey: true},
				func(b []byte) bool { return bytes.Equal(b, s.fileBytes) })
		}},
		{"sql", func(w *worker, ctx context.Context) { w.sql(ctx, stepsTable) }},
		{"auth_login", func(w *worker, ctx context.Context) { w.login(ctx) }},
	}
}

// groupSteps is one route group's steps and where it slowed down.
type groupSteps struct {
	name  string
	steps []stepResult
	slow  int // index into steps, -1: never
	why   string
}

// stepTest runs each group at each concurrency of o.steps for o.step, and
// stops a group two steps after it first slowed down.
func stepTest(ctx context.Context, o options, s *session) []groupSteps {
	say("step test: %d route groups × concurrency %v, %s each", len(stepGroups(s)), o.steps, o.step)
	var out []groupSteps
	for _, g := range stepGroups(s) {
		gs := groupSteps{name: g.name, slow: -1}
		for _, c := range o.steps {
			if ctx.Err() != nil {
				return out
			}
			gs.steps = append(gs.steps, runStep(ctx, s, g, c, o.step))
			if gs.slow < 0 {
				gs.slow, gs.why = slowdown(gs.steps)
			}
			if gs.slow >= 0 && len(gs.steps) >= gs.slow+3 {
				break
			}
		}
		out = append(out, gs)
	}
	return out
}

// runStep runs c clients of g for d and summarises the requests that
// started within d.
func runStep(ctx context.Context, s *session, g stepGroup, c int, d time.Duration) stepResult {
	s.api.t0 = time.Now()
	end := s.api.t0.Add(d)
	workers := make([]*worker, c)
	var wg sync.WaitGroup
	for i := range workers {
		w := newWorker(s, 1000+i, uint64(end.UnixNano()))
		workers[i] = w
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				g.op(w, ctx)
			}
		})
	}
	wg.Wait()
	var ss []sample
	for _, w := range workers {
		ss = append(ss, within(w.samples, 0, d)...)
	}
	l := summarize(durations(ss))
	labels := map[string]int{}
	for _, x := range ss {
		if !x.ok() {
			labels[x.label()]++
		}
	}
	return stepResult{conc: c, n: len(ss), errs: len(ss) - countOK(ss), rps: float64(len(ss)) / d.Seconds(),
		p50: l.p50, p99: l.p99, labels: labels}
}

func printSteps(w io.Writer, groups []groupSteps, o options) {
	fmt.Fprintf(w, "\nstep test (%s per step, clients round-robin over both instances; a group stops two steps after it slows down)\n", o.step)
	fmt.Fprintf(w, "%-14s %6s %8s %9s %9s %7s\n", "route group", "conc", "req/s", "p50", "p99", "errors")
	for _, g := range groups {
		for i, r := range g.steps {
			mark := ""
			if i == g.slow {
				mark = "  ← slows down: " + g.why
			}
			fmt.Fprintf(w, "%-14s %6d %8.0f %9s %9s %7d%s\n", g.name, r.conc, r.rps, ms(r.p50), ms(r.p99), r.errs, mark)
		}
	}
	fmt.Fprintf(w, "\nfirst slow-down (p99 > 2 × the single client's, or req/s not 10%% above the best earlier step):\n")
	for _, g := range groups {
		if g.slow < 0 {
			fmt.Fprintf(w, "  %-14s none up to %d clients\n", g.name, g.steps[len(g.steps)-1].conc)
			continue
		}
		r := g.steps[g.slow]
		peak := g.steps[0]
		for _, x := range g.steps {
			if x.rps > peak.rps {
				peak = x
			}
		}
		fmt.Fprintf(w, "  %-14s at %d clients (%s); peak %.0f req/s at %d clients\n", g.name, r.conc, g.why, peak.rps, peak.conc)
	}
	var errs []string
	for _, g := range groups {
		for _, r := range g.steps {
			if r.errs > 0 {
				errs = append(errs, fmt.Sprintf("%s at %d clients: %s", g.name, r.conc, counts(r.labels)))
			}
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(w, "step test errors: %s\n", strings.Join(errs, "; "))
	}
}

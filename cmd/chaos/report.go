package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"
)

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func fmtRate(r float64) string { return fmt.Sprintf("%.0f", r) }

// counts renders label counts as "503: 12, timeout: 1", largest first.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// phase is a stretch of the run: steady, a fault, or the time after one.
type phase struct {
	name     string
	from, to time.Duration
}

// phases cuts the run at the faults: steady, then each fault and the time
// after it (up to the next fault, or the end of the run).
func (r *chaosResult) phases() []phase {
	out := []phase{{name: "steady", from: 0, to: r.duration}}
	if len(r.faults) > 0 {
		out[0].to = r.faults[0].start
	}
	for i, f := range r.faults {
		next := time.Duration(math.MaxInt64)
		if i+1 < len(r.faults) {
			next = r.faults[i+1].start
		}
		out = append(out, phase{name: f.name, from: f.start, to: f.end}, phase{name: "after " + f.name, from: f.end, to: next})
	}
	return out
}

// within returns the samples that started in [from, to).
func within(ss []sample, from, to time.Duration) []sample {
	var out []sample
	for _, s := range ss {
		if s.start >= from && s.start < to {
			out = append(out, s)
		}
	}
	return out
}

func durations(ss []sample) []time.Duration {
	ds := make([]time.Duration, len(ss))
	for i, s := range ss {
		ds[i] = s.dur
	}
	return ds
}

// slowest503 returns the longest 503 of ss (0 when none).
func slowest503(ss []sample) (sample, bool) {
	var worst sample
	found := false
	for _, s := range ss {
		if s.status == 503 && (!found || s.dur > worst.dur) {
			worst, found = s, true
		}
	}
	return worst, found
}

// print writes the fault run's report and reports whether it passed.
func (r *chaosResult) print(w io.Writer, o options) bool {
	v := verdict{w: w, pass: true}
	r.printTotals(w, o)
	r.printPhases(w)
	r.printRecovery(w, o, &v)
	r.printWrites(w, &v)
	r.printErrors(w, o, &v)
	for i, in := range r.instances {
		alive := in.alive()
		fmt.Fprintf(w, "instance %s after the run: running %t, /readyz %d\n", in.name, alive, r.ready[i])
		if !alive || r.ready[i] != 200 {
			v.fail("instance %s is not ready after the run (see %s)", in.name, in.log)
		}
	}
	if v.pass {
		fmt.Fprintln(w, "PASS: no acknowledged write lost; every error a 503 within", o.slowError)
	}
	return v.pass
}

// verdict collects the failures of a report.
type verdict struct {
	w    io.Writer
	pass bool
}

func (v *verdict) fail(format string, args ...any) {
	v.pass = false
	fmt.Fprintf(v.w, "FAIL: "+format+"\n", args...)
}

// printTotals: the run, requests, errors by status and by route group.
func (r *chaosResult) printTotals(w io.Writer, o options) {
	names := make([]string, len(r.instances))
	for i, in := range r.instances {
		names[i] = in.name + " " + strings.TrimPrefix(in.base, "http://")
	}
	fmt.Fprintf(w, "\nSelfDB chaos — %d instances (%s), %d workers + %d arrivals/s, %s, %d CPUs, load average %s\n",
		len(r.instances), strings.Join(names, ", "), r.workers, o.rate, r.duration, runtime.NumCPU(), r.loadavg)
	byStatus, byGroup := map[string]int{}, map[int]map[string]int{}
	reqs := make([]int, nGroups)
	bad := 0
	for _, s := range r.samples {
		reqs[s.group]++
		if s.ok() {
			continue
		}
		bad++
		byStatus[s.label()]++
		if byGroup[int(s.group)] == nil {
			byGroup[int(s.group)] = map[string]int{}
		}
		byGroup[int(s.group)][s.label()]++
	}
	fmt.Fprintf(w, "requests: %d (%.0f req/s), succeeded %d, failed %d\n", len(r.samples),
		float64(len(r.samples))/r.duration.Seconds(), len(r.samples)-bad, bad)
	fmt.Fprintf(w, "errors by status: %s\n", counts(byStatus))
	if r.skipped > 0 {
		fmt.Fprintf(w, "arrivals not sent (%d already under way): %d\n", maxArrivals, r.skipped)
	}
	fmt.Fprintf(w, "\n%-14s %9s %8s  %s\n", "route group", "requests", "errors", "errors by status")
	for g := range nGroups {
		if reqs[g] == 0 {
			continue
		}
		n := 0
		for _, c := range byGroup[g] {
			n += c
		}
		fmt.Fprintf(w, "%-14s %9d %8d  %s\n", groupNames[g], reqs[g], n, counts(byGroup[g]))
	}
}

// printPhases: latency percentiles of steady, each fault and after each.
func (r *chaosResult) printPhases(w io.Writer) {
	fmt.Fprintf(w, "\nlatency by phase (requests by start time; all outcomes)\n")
	fmt.Fprintf(w, "%-18s %7s %7s %8s %7s %7s %9s %9s %9s %9s %11s\n",
		"phase", "from", "to", "requests", "req/s", "errors", "p50", "p90", "p99", "max", "slowest503")
	for _, p := range r.phases() {
		ss := within(r.samples, p.from, p.to)
		to := min(p.to, r.duration)
		l := summarize(durations(ss))
		s503 := "-"
		if s, ok := slowest503(ss); ok {
			s503 = ms(s.dur)
		}
		rate := 0.0
		if to > p.from {
			rate = float64(len(ss)) / (to - p.from).Seconds()
		}
		fmt.Fprintf(w, "%-18s %6.1fs %6.1fs %8d %7.0f %7d %9s %9s %9s %9s %11s\n", p.name, p.from.Seconds(), to.Seconds(),
			len(ss), rate, len(ss)-countOK(ss), ms(l.p50), ms(l.p90), ms(l.p99), ms(l.maxD), s503)
	}
}

// printRecovery: per fault, its errors and how long after its end both
// instances answered again and the error rate was back to steady.
func (r *chaosResult) printRecovery(w io.Writer, o options, v *verdict) {
	// The steady error rate: answers before the first fault began.
	var steady []sample
	steadyEnd := r.phases()[0].to
	for _, s := range r.samples {
		if s.end() < steadyEnd {
			steady = append(steady, s)
		}
	}
	threshold := max(2*errorRate(steady), 0.01)
	fmt.Fprintf(w, "\nrecovery (times after the fault's end, by the client's clock; steady = error rate ≤ %.1f%% in every %s from then on)\n",
		100*threshold, settleBucket)
	fmt.Fprintf(w, "%-11s %8s %8s %11s %10s %8s %11s  %s\n", "fault", "outage", "errors", "first 2xx*", "steady", "last err", "slowest503", "errors by status")
	for i, f := range r.faults {
		limit := r.duration + o.clientTimeout
		if i+1 < len(r.faults) {
			limit = r.faults[i+1].start
		}
		var window []sample // answered from the fault's start to the next
		errs := map[string]int{}
		var lastErr time.Duration = -1
		for _, s := range r.samples {
			if s.end() >= f.start && s.end() < limit {
				window = append(window, s)
				if !s.ok() {
					errs[s.label()]++
					lastErr = max(lastErr, s.end())
				}
			}
		}
		first, set := "never", "never"
		if d, ok := firstOK(r.samples, f.end, limit, len(r.instances)); ok {
			first = secs(d)
		}
		if d, ok := settled(r.samples, f.end, min(limit, r.duration), threshold); ok {
			set = secs(d)
		}
		last := "-"
		if lastErr >= 0 {
			last = secs(lastErr - f.end)
		}
		s503 := "-"
		if s, ok := slowest503(window); ok {
			s503 = ms(s.dur)
		}
		fmt.Fprintf(w, "%-11s %8s %8d %11s %10s %8s %11s  %s%s\n", f.name, secs(f.end-f.start), len(window)-countOK(window),
			first, set, last, s503, counts(errs), errSuffix(f.err))
		if f.err != nil {
			v.fail("fault %s was not injected as planned: %v", f.name, f.err)
		}
	}
	fmt.Fprintf(w, "* first 2xx: until both instances had answered one (a negative last err: errors stopped before the fault ended)\n")
}

// printWrites: acknowledged against stored inserts.
func (r *chaosResult) printWrites(w io.Writer, v *verdict) {
	wc := r.writes
	fmt.Fprintf(w, "\nwrites (%s): %d acknowledged, lost acknowledged writes: %d, stored under another id: %d; "+
		"%d failed, unacknowledged but stored: %d; duplicated: %d; stored but never sent: %d\n",
		chaosTable, wc.acked, wc.lost, wc.idMismatch, wc.failed, wc.failedStored, wc.duplicates, wc.strangers)
	if wc.lost > 0 {
		v.fail("%d acknowledged inserts are not stored, e.g. %s", wc.lost, strings.Join(wc.lostTokens, ", "))
	}
	if wc.idMismatch+wc.duplicates+wc.strangers > 0 {
		v.fail("stored rows disagree with the acknowledgements (ids %d, duplicates %d, strangers %d)", wc.idMismatch, wc.duplicates, wc.strangers)
	}
}

// printErrors: errors other than 503, the slowest 503, errors over the bound.
func (r *chaosResult) printErrors(w io.Writer, o options, v *verdict) {
	other, slow := map[string]int{}, 0
	var worst sample
	for _, s := range r.samples {
		if s.ok() {
			continue
		}
		if s.status != 503 {
			other[groupNames[s.group]+" "+s.label()]++
		}
		if s.dur > o.slowError {
			slow++
		}
		if s.dur > worst.dur {
			worst = s
		}
	}
	fmt.Fprintf(w, "\nerrors other than 503: %s\n", counts(other))
	if s503, ok := slowest503(r.samples); ok {
		fmt.Fprintf(w, "slowest 503: %s (%s, started at %.1fs, in %s); slowest error: %s (%s)\n", ms(s503.dur),
			groupNames[s503.group], s503.start.Seconds(), phaseOf(r.phases(), s503.start), ms(worst.dur), worst.label())
	}
	fmt.Fprintf(w, "errors slower than %s: %d\n", o.slowError, slow)
	if len(other) > 0 {
		v.fail("requests failed other than with a 503")
	}
	if slow > 0 {
		v.fail("%d errors took longer than %s (CHAOS_SLOW_ERROR)", slow, o.slowError)
	}
}

func countOK(ss []sample) int {
	n := 0
	for _, s := range ss {
		if s.ok() {
			n++
		}
	}
	return n
}

func phaseOf(ps []phase, t time.Duration) string {
	for _, p := range ps {
		if t >= p.from && t < p.to {
			return p.name
		}
	}
	return "the end"
}

package main

import (
	"math"
	"slices"
	"time"
)

// latencies summarises request durations.
type latencies struct {
	n                   int
	p50, p90, p99, maxD time.Duration
}

func summarize(ds []time.Duration) latencies {
	if len(ds) == 0 {
		return latencies{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return latencies{n: len(s), p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), maxD: s[len(s)-1]}
}

// pct is the nearest-rank percentile of sorted durations.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// errorRate is the failed share of samples.
func errorRate(ss []sample) float64 {
	if len(ss) == 0 {
		return 0
	}
	bad := 0
	for _, s := range ss {
		if !s.ok() {
			bad++
		}
	}
	return float64(bad) / float64(len(ss))
}

// settleBucket is the resolution of the recovery times.
const settleBucket = 250 * time.Millisecond

// settled returns how long after from the error rate came back to at most
// threshold to stay there until limit: the start of the first bucket (by
// completion time) from which every bucket up to limit has answers and an
// error rate within threshold. ok is false when it never did.
func settled(ss []sample, from, limit time.Duration, threshold float64) (time.Duration, bool) {
	n := int((limit - from + settleBucket - 1) / settleBucket)
	if n <= 0 {
		return 0, false
	}
	total, bad := make([]int, n), make([]int, n)
	for _, s := range ss {
		e := s.end()
		if e < from || e >= limit {
			continue
		}
		i := int((e - from) / settleBucket)
		total[i]++
		if !s.ok() {
			bad[i]++
		}
	}
	// A trailing bucket cut short by limit may hold no answers by chance.
	if total[n-1] == 0 && n > 1 {
		n--
	}
	k := n
	for k > 0 && total[k-1] > 0 && float64(bad[k-1]) <= threshold*float64(total[k-1]) {
		k--
	}
	if k == n {
		return 0, false
	}
	return time.Duration(k) * settleBucket, true
}

// firstOK returns how long after from every instance (of n) had answered a
// request successfully; ok false when one never did before limit.
func firstOK(ss []sample, from, limit time.Duration, n int) (time.Duration, bool) {
	first := make([]time.Duration, n)
	for i := range first {
		first[i] = -1
	}
	for _, s := range ss {
		e := s.end()
		if !s.ok() || e < from || e >= limit || int(s.inst) >= n {
			continue
		}
		if first[s.inst] < 0 || e < first[s.inst] {
			first[s.inst] = e
		}
	}
	var worst time.Duration
	for _, f := range first {
		if f < 0 {
			return 0, false
		}
		worst = max(worst, f-from)
	}
	return worst, true
}

// stepResult is one concurrency step of one route group.
type stepResult struct {
	conc     int
	n, errs  int
	rps      float64
	p50, p99 time.Duration
	labels   map[string]int // errors by status
}

// slowdown returns the index of the first step whose p99 is over twice the
// first step's, or whose req/s is not at least 10% above the best earlier
// step's (throughput stopped rising), and why; -1 when none.
func slowdown(rs []stepResult) (int, string) {
	if len(rs) < 2 {
		return -1, ""
	}
	base, best := rs[0].p99, rs[0].rps
	for i, r := range rs[1:] {
		switch {
		case r.p99 > 2*base:
			return i + 1, "p99 " + ms(r.p99) + " > 2 × " + ms(base)
		case r.rps < 1.1*best:
			return i + 1, "req/s " + fmtRate(r.rps) + " not above " + fmtRate(best)
		}
		best = max(best, r.rps)
	}
	return -1, ""
}

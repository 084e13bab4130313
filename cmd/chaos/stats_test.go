package main

import (
	"testing"
	"time"
)

const ms1 = time.Millisecond

func TestPct(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*ms1)
	}
	l := summarize(ds)
	if l.p50 != 50*ms1 || l.p99 != 99*ms1 || l.maxD != 100*ms1 || l.n != 100 {
		t.Fatalf("summarize 1..100 ms = %+v", l)
	}
	if got := pct([]time.Duration{7 * ms1}, 99); got != 7*ms1 {
		t.Fatalf("pct of one = %s", got)
	}
}

// answers returns one sample per 10 ms ending in [from, to) on each of two
// instances, failed (503) while fail says so.
func answers(from, to time.Duration, fail func(end time.Duration) bool) []sample {
	var ss []sample
	for e := from; e < to; e += 10 * ms1 {
		for inst := range 2 {
			s := sample{start: e - ms1, dur: ms1, status: 200, inst: uint8(inst)}
			if fail(e) {
				s.status = 503
			}
			ss = append(ss, s)
		}
	}
	return ss
}

func TestSettledAndFirstOK(t *testing.T) {
	// A fault ends at 1s; errors go on until 1.6s, then stop.
	ss := answers(0, 3*time.Second, func(e time.Duration) bool { return e >= 800*ms1 && e < 1600*ms1 })
	d, ok := settled(ss, time.Second, 3*time.Second, 0.01)
	if !ok || d != 750*ms1 { // [1.5s, 1.75s) still holds errors
		t.Fatalf("settled = %s %v, want 750ms", d, ok)
	}
	f, ok := firstOK(ss, time.Second, 3*time.Second, 2)
	if !ok || f != 600*ms1 {
		t.Fatalf("firstOK = %s %v, want 600ms", f, ok)
	}
	// Never clean again: not settled; one instance never answers: no first 2xx.
	ss = answers(0, 3*time.Second, func(e time.Duration) bool { return e >= 800*ms1 })
	if _, ok := settled(ss, time.Second, 3*time.Second, 0.01); ok {
		t.Fatal("settled while every answer failed")
	}
	if _, ok := firstOK(ss, time.Second, 3*time.Second, 2); ok {
		t.Fatal("first 2xx while every answer failed")
	}
	// No error at all: settled at once.
	ss = answers(0, 3*time.Second, func(time.Duration) bool { return false })
	if d, ok := settled(ss, time.Second, 3*time.Second, 0.01); !ok || d != 0 {
		t.Fatalf("settled without errors = %s %v", d, ok)
	}
}

func TestSlowdown(t *testing.T) {
	step := func(c int, rps float64, p99 time.Duration) stepResult {
		return stepResult{conc: c, rps: rps, p99: p99}
	}
	cases := []struct {
		name  string
		steps []stepResult
		want  int
	}{
		{"scales", []stepResult{step(1, 100, 10*ms1), step(2, 190, 12*ms1), step(4, 350, 19*ms1)}, -1},
		{"p99 doubles", []stepResult{step(1, 100, 10*ms1), step(2, 190, 12*ms1), step(4, 350, 21*ms1)}, 2},
		{"flat req/s", []stepResult{step(1, 100, 10*ms1), step(2, 190, 12*ms1), step(4, 200, 15*ms1)}, 2},
		{"one step", []stepResult{step(1, 100, 10*ms1)}, -1},
	}
	for _, c := range cases {
		if got, why := slowdown(c.steps); got != c.want {
			t.Errorf("%s: slowdown = %d (%s), want %d", c.name, got, why, c.want)
		}
	}
}

package cache

import (
	"testing"
	"time"
)

// The breaker's state machine, without memcached: it opens after
// failThreshold failures, lets one probe through once the back-off has
// passed, doubles the back-off on each failed probe up to maxBackoff, and
// closes on a success.
func TestBreaker(t *testing.T) {
	var changes []bool
	b := &breaker{onChange: func(up bool) { changes = append(changes, up) }}
	for i := range failThreshold - 1 {
		b.record(true, false)
		if !b.closed() {
			t.Fatalf("open after %d failures", i+1)
		}
	}
	b.record(false, false) // a success resets the count
	for range failThreshold - 1 {
		b.record(true, false)
	}
	if !b.closed() {
		t.Fatal("failures before a success counted towards opening")
	}
	b.record(true, false)
	if b.closed() || len(changes) != 1 || changes[0] {
		t.Fatalf("not open after %d consecutive failures (changes %v)", failThreshold, changes)
	}
	if _, ok := b.allow(); ok {
		t.Fatal("a call allowed during the back-off")
	}

	want := minBackoff
	for range 10 {
		if b.backoff != want {
			t.Fatalf("back-off %s, want %s", b.backoff, want)
		}
		b.until = time.Now() // the back-off has passed
		probe, ok := b.allow()
		if !probe || !ok {
			t.Fatal("no probe after the back-off")
		}
		if _, ok := b.allow(); ok {
			t.Fatal("a second call allowed while the probe runs")
		}
		b.record(true, true)
		want = min(want*2, maxBackoff)
	}
	if b.backoff != maxBackoff {
		t.Fatalf("back-off %s after many failed probes, want the cap %s", b.backoff, maxBackoff)
	}
	if len(changes) != 1 {
		t.Fatalf("failed probes reported state changes: %v", changes)
	}

	b.until = time.Now()
	probe, _ := b.allow()
	b.record(false, probe)
	if !b.closed() || len(changes) != 2 || !changes[1] {
		t.Fatalf("a successful probe did not close the breaker (changes %v)", changes)
	}
	if _, ok := b.allow(); !ok {
		t.Fatal("calls refused once closed")
	}
	// The next outage starts again from the shortest back-off.
	for range failThreshold {
		b.record(true, false)
	}
	if b.backoff != minBackoff {
		t.Fatalf("back-off %s at a new outage, want %s", b.backoff, minBackoff)
	}
}

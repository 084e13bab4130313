package worker_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/worker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor polls cond until it holds or the deadline passes (did not hang).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A worker that fails or panics is run again; one that stops when asked is not.
func TestSupervisorRestartsFailuresAndPanics(t *testing.T) {
	reg := prometheus.NewRegistry()
	var failing, panicking, steady atomic.Int32
	s := worker.NewSupervisor(zap.NewNop(), reg,
		worker.New("failing", func(context.Context) error { failing.Add(1); return errors.New("boom") }),
		worker.New("panicking", func(context.Context) error { panicking.Add(1); panic("bad") }),
		worker.New("steady", func(ctx context.Context) error { steady.Add(1); <-ctx.Done(); return nil }),
	)
	s.Start()
	waitFor(t, "restarts", func() bool { return failing.Load() >= 3 && panicking.Load() >= 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := steady.Load(); n != 1 {
		t.Errorf("steady worker ran %d times, want 1", n)
	}
	if n := testutil.ToFloat64(s.Restarts().WithLabelValues("panicking")); n < 2 {
		t.Errorf("restarts metric of the panicking worker = %v", n)
	}
}

// Every runs the job at start and on each tick; a failed tick does not stop it.
func TestEveryKeepsTicking(t *testing.T) {
	var n atomic.Int32
	s := worker.NewSupervisor(zap.NewNop(), prometheus.NewRegistry(),
		worker.Every("tick", 5*time.Millisecond, func(context.Context) error {
			if n.Add(1)%2 == 0 {
				return errors.New("every other tick fails")
			}
			return nil
		}))
	s.Start()
	waitFor(t, "ticks", func() bool { return n.Load() >= 5 })
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(s.Restarts().WithLabelValues("tick")); got != 0 {
		t.Errorf("a periodic job was restarted %v times for failed ticks", got)
	}
}

// Stop gives up waiting when its context ends, for a worker that ignores
// cancellation.
func TestStopIsBounded(t *testing.T) {
	release := make(chan struct{})
	s := worker.NewSupervisor(zap.NewNop(), prometheus.NewRegistry(),
		worker.New("stuck", func(context.Context) error { <-release; return nil }))
	s.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Stop(ctx); err == nil {
		t.Error("Stop returned nil while a worker was still running")
	}
	close(release)
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

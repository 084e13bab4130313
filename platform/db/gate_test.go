package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
)

// The gate admits DB_MAX_OPEN_CONNS callers; the others get in one by one,
// in the order they came, and a caller whose context ends stops waiting.
func TestGateIsFIFO(t *testing.T) {
	g := db.NewGate(&config.Config{DBMaxOpenConns: 2})
	ctx := context.Background()
	var held []func()
	for range 2 {
		leave, err := g.Enter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, leave)
	}
	const waiters = 20
	order := make(chan int, waiters)
	for i := range waiters {
		ready := make(chan struct{})
		go func() {
			close(ready)
			leave, err := g.Enter(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			order <- i
			leave()
		}()
		// Let waiter i queue before waiter i+1 starts: it is running and
		// one call away from queueing; the sleep covers that call.
		<-ready
		time.Sleep(5 * time.Millisecond)
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := g.Enter(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Enter on a full gate: %v, want the context's error", err)
	}
	held[0]()
	for want := range waiters {
		if got := <-order; got != want {
			t.Fatalf("waiter %d got in at turn %d", got, want)
		}
	}
	held[1]()
}

// A caller waits for a slot at most DB_ACQUIRE_TIMEOUT, even with no
// deadline of its own, and gets database_busy (503, Retry-After).
func TestGateWaitIsBounded(t *testing.T) {
	g := db.NewGate(&config.Config{DBMaxOpenConns: 1, DBAcquireTimeout: 50 * time.Millisecond})
	leave, err := g.Enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		_, err := g.Enter(context.Background())
		errc <- err
	}()
	select {
	case err = <-errc:
	case <-time.After(2 * time.Second):
		leave() // lets the waiter in, so that its goroutine ends
		t.Fatal("Enter on a full gate still waiting after 2s")
	}
	leave()
	if !errors.Is(err, db.ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Enter on a full gate: %v, want database_busy", err)
	}
	if took := time.Since(start); took < 40*time.Millisecond || took > time.Second {
		t.Errorf("Enter gave up after %s, want about 50ms", took)
	}
}

package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
)

// chaosResult is what the fault run saw.
type chaosResult struct {
	workers   int
	duration  time.Duration
	samples   []sample
	faults    []fault
	writes    writeCheck
	instances []*instance
	ready     []int  // each instance's /readyz status after the run
	skipped   int    // arrivals not sent: maxArrivals were under way
	loadavg   string // /proc/loadavg before and after
}

// chaosRun drives the mix at both instances for o.duration while in injects
// the faults, then checks the writes against Postgres (pgURL, directly).
func chaosRun(ctx context.Context, o options, s *session, in *injector, pgURL string) (*chaosResult, error) {
	res := &chaosResult{workers: o.workers, duration: o.duration, loadavg: loadavg()}
	t0 := time.Now()
	s.api.t0, in.t0 = t0, t0
	end := t0.Add(o.duration)
	say("fault run: %d workers and %d arrivals/s for %s, faults %s (outage %s)", o.workers, o.rate, o.duration,
		strings.Join(o.faults, ", "), o.outage)
	workers := make([]*worker, o.workers)
	var wg sync.WaitGroup
	for i := range workers {
		w := newWorker(s, i, uint64(t0.UnixNano()))
		workers[i] = w
		// New operations stop at the end; those under way finish (bounded
		// by the client's timeout) so that every insert has an outcome.
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				w.step(ctx)
			}
		})
	}
	faultCtx, cancel := context.WithDeadline(ctx, end)
	var arrivals []*worker
	wg.Go(func() { arrivals, res.skipped = arrive(faultCtx, ctx, s, o.rate, uint64(t0.UnixNano())) })
	res.faults = in.schedule(faultCtx, o.faults, o.duration)
	<-faultCtx.Done()
	cancel()
	wg.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted")
	}
	workers = append(workers, arrivals...)
	res.loadavg += " → " + loadavg()
	var attempts []insertAttempt
	for _, w := range workers {
		res.samples = append(res.samples, w.samples...)
		attempts = append(attempts, w.inserts...)
	}
	for _, b := range s.api.bases {
		res.ready = append(res.ready, readyz(b))
	}
	var err error
	res.writes, err = checkWrites(ctx, pgURL, attempts)
	return res, err
}

// maxArrivals bounds the open-loop operations under way.
const maxArrivals = 256

// arrive starts one operation of the mix rate times a second until tick
// ends, each on its own (open loop: unlike the workers, arrivals keep coming
// while earlier requests hang, so every phase sees new requests). Requests
// run under ctx; it returns the arrivals' workers once all are done, and how
// many were skipped because maxArrivals were under way.
func arrive(tick, ctx context.Context, s *session, rate int, seed uint64) ([]*worker, int) {
	if rate <= 0 {
		return nil, 0
	}
	all := make([]*worker, maxArrivals)
	free := make(chan *worker, maxArrivals)
	for i := range all {
		all[i] = newWorker(s, 100000+i, seed)
		free <- all[i]
	}
	skipped := 0
	t := time.NewTicker(time.Second / time.Duration(rate))
	defer t.Stop()
	var wg sync.WaitGroup
	for tick.Err() == nil {
		select {
		case <-tick.Done():
		case <-t.C:
			select {
			case w := <-free:
				wg.Go(func() { w.step(ctx); free <- w })
			default:
				skipped++
			}
		}
	}
	wg.Wait()
	return all, skipped
}

// writeCheck compares the inserts the client made with the rows stored.
type writeCheck struct {
	acked        int      // inserts answered 2xx with the row
	lost         int      // … whose token is not in the table
	idMismatch   int      // … stored under another id than acknowledged
	failed       int      // inserts that got an error (or no answer)
	failedStored int      // … stored anyway: allowed, worth knowing
	duplicates   int      // tokens stored more than once
	strangers    int      // stored run tokens the client never sent
	lostTokens   []string // the first few lost ones
}

func checkWrites(ctx context.Context, pgURL string, attempts []insertAttempt) (writeCheck, error) {
	var wc writeCheck
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(pgURL)))
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	rows, err := db.QueryContext(ctx, "SELECT id, token FROM "+chaosTable+" WHERE token LIKE 'r%'")
	if err != nil {
		return wc, fmt.Errorf("reading %s: %w", chaosTable, err)
	}
	defer rows.Close()
	stored := map[string][]int64{}
	for rows.Next() {
		var id int64
		var tok string
		if err := rows.Scan(&id, &tok); err != nil {
			return wc, err
		}
		stored[tok] = append(stored[tok], id)
	}
	if err := rows.Err(); err != nil {
		return wc, err
	}
	sent := map[string]bool{}
	for _, a := range attempts {
		sent[a.token] = true
		ids := stored[a.token]
		if len(ids) > 1 {
			wc.duplicates++
		}
		if !a.acked {
			wc.failed++
			if len(ids) > 0 {
				wc.failedStored++
			}
			continue
		}
		wc.acked++
		switch {
		case len(ids) == 0:
			wc.lost++
			if len(wc.lostTokens) < 10 {
				wc.lostTokens = append(wc.lostTokens, fmt.Sprintf("%s (id %d)", a.token, a.id))
			}
		case ids[0] != a.id:
			wc.idMismatch++
		}
	}
	for tok := range stored {
		if !sent[tok] {
			wc.strangers++
		}
	}
	return wc, nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

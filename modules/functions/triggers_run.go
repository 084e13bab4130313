package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/robfig/cron/v3"
	"github.com/uptrace/bun"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/events"
)

// The workers that run functions without an HTTP call: Scheduler
// (schedule), Changes (database) and onceRunner (once). Events are pushed
// by Emit.

// Scheduler fires schedule triggers. Every instance looks at the schedules
// of active functions each second and claims the latest due time of each
// in Postgres: function_schedules.last_at moves to a time only once, so
// each time runs on one instance. Times that passed while every instance
// was down fire once, for the latest of them.
type Scheduler struct {
	s     *Service
	repo  *Repository
	log   *zap.Logger
	now   func() time.Time
	mu    sync.Mutex
	specs map[string]cron.Schedule
}

// NewScheduler builds the scheduler.
func NewScheduler(s *Service, d *bun.DB, log *zap.Logger) *Scheduler {
	return &Scheduler{s: s, repo: NewRepository(d), log: log.Named("functions"), now: time.Now, specs: map[string]cron.Schedule{}}
}

// Name is the worker's name.
func (sc *Scheduler) Name() string { return "functions.scheduler" }

// Run ticks at the start of every second until ctx ends.
func (sc *Scheduler) Run(ctx context.Context) error {
	for {
		now := sc.now()
		t := time.NewTimer(now.Truncate(time.Second).Add(time.Second).Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if _, err := sc.Tick(ctx, sc.now()); err != nil && ctx.Err() == nil {
			sc.log.Warn("schedules not checked", zap.Error(err))
		}
	}
}

// Tick claims the schedules due at now and starts their runs; it returns
// how many it started. Run calls it every second; tests call it with the
// times they want.
func (sc *Scheduler) Tick(ctx context.Context, now time.Time) (int, error) {
	rows, err := sc.repo.Schedules(ctx)
	if err != nil {
		return 0, err
	}
	started := 0
	for _, row := range rows {
		spec, err := sc.spec(row.Cron)
		if err != nil {
			continue
		}
		due := latestDue(spec, row.LastAt, now)
		if due.IsZero() {
			continue
		}
		claimed, err := sc.repo.ClaimSchedule(ctx, row.FunctionID, row.Cron, due)
		if err != nil {
			return started, err
		}
		if !claimed {
			continue
		}
		f, err := sc.repo.HeaderByID(ctx, row.FunctionID)
		if err != nil || !f.IsActive {
			continue
		}
		name := ""
		for _, t := range of(f.Effective(), TriggerSchedule) {
			if t.Cron == row.Cron {
				name = t.Name
			}
		}
		payload, _ := json.Marshal(map[string]any{"type": TriggerSchedule, "cron": row.Cron, "name": name, "scheduled_at": due.UTC()})
		header := [][2]string{{"X-Schedule-Name", name}}
		if sc.s.background(func(ctx context.Context) {
			sc.s.runTriggered(ctx, f, triggered{trigger: TriggerSchedule, headers: header, payload: payload})
		}) {
			started++
		}
	}
	return started, nil
}

func (sc *Scheduler) spec(expr string) (cron.Schedule, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if s, ok := sc.specs[expr]; ok {
		return s, nil
	}
	s, err := parseCron(expr)
	if err == nil {
		sc.specs[expr] = s
	}
	return s, err
}

// backoff is the wait before attempt n+1 (n ≥ 1): base doubled per attempt, capped.
func backoff(base, max time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// Changes delivers database triggers. Each function with database triggers
// has a cursor in the change log (function_state.db_cursor); one instance
// at a time holds the function's lease and delivers the changes after the
// cursor in log order, one at a time, moving the cursor past each change
// the function took (2xx-4xx, no throw, no timeout). A failed change is
// delivered again after a back-off (1 s, doubling, up to 5 min), and
// nothing after it goes first: at least once, in commit order.
type Changes struct {
	s     *Service
	repo  *Repository
	log   *zap.Logger
	clog  *events.Log
	bus   *events.Bus
	owner string
	base  time.Duration
}

// NewChanges builds the database trigger worker.
func NewChanges(s *Service, d *bun.DB, clog *events.Log, bus *events.Bus, log *zap.Logger) *Changes {
	return &Changes{s: s, repo: NewRepository(d), log: log.Named("functions"), clog: clog, bus: bus,
		owner: uuid.NewString(), base: time.Second}
}

// Name is the worker's name.
func (d *Changes) Name() string { return "functions.database" }

const (
	changesBatch   = 64
	changesIdle    = 2 * time.Second
	changesMaxWait = 5 * time.Minute
)

// consumer delivers one function's changes.
type consumer struct {
	fn     atomic.Pointer[Function]
	wake   chan struct{}
	cancel context.CancelFunc
}

// Run keeps a consumer per function with database triggers and wakes them
// when changes come.
func (d *Changes) Run(ctx context.Context) error {
	sub, _ := d.bus.Subscribe("functions.database", func(e *events.Event) bool { return e.UserTable() }, 256)
	defer sub.Close()
	consumers := map[uuid.UUID]*consumer{}
	var wg sync.WaitGroup
	defer func() {
		for _, c := range consumers {
			c.cancel()
		}
		wg.Wait()
	}()
	reload := func() {
		fs, err := d.repo.Subscribers(ctx, `{"type":"database"}`)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("database triggers not listed", zap.Error(err))
			}
			return
		}
		seen := map[uuid.UUID]bool{}
		for _, f := range fs {
			seen[f.ID] = true
			if c, ok := consumers[f.ID]; ok {
				c.fn.Store(f)
				continue
			}
			c := &consumer{wake: make(chan struct{}, 1)}
			c.fn.Store(f)
			cctx, cancel := context.WithCancel(ctx)
			c.cancel = cancel
			consumers[f.ID] = c
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.consume(cctx, c)
			}()
		}
		for id, c := range consumers {
			if !seen[id] {
				c.cancel()
				delete(consumers, id)
			}
		}
	}
	reload()
	tick := time.NewTicker(changesIdle)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.C():
		case <-tick.C:
			reload()
		}
		for _, c := range consumers {
			select {
			case c.wake <- struct{}{}:
			default:
			}
		}
	}
}

func (d *Changes) consume(ctx context.Context, c *consumer) {
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = d.repo.Release(rctx, c.fn.Load().ID, d.owner)
	}()
	for ctx.Err() == nil {
		wait, err := d.step(ctx, c.fn.Load())
		if err != nil && ctx.Err() == nil {
			d.log.Warn("database trigger delivery failed", zap.String("function", c.fn.Load().Name), zap.Error(err))
			wait = changesIdle
		}
		if wait == 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-c.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

var errBatchFull = errors.New("batch full")

// step delivers what it can and says how long to wait before the next.
func (d *Changes) step(ctx context.Context, f *Function) (time.Duration, error) {
	lease := time.Duration(f.TimeoutMS)*time.Millisecond + 30*time.Second
	cur, ok, err := d.repo.Lease(ctx, f.ID, d.owner, lease)
	if err != nil || !ok {
		return changesIdle, err
	}
	if cur.RetryAt != nil {
		if wait := time.Until(*cur.RetryAt); wait > 0 {
			return min(wait, changesIdle), nil
		}
	}
	if !d.bus.Live() {
		return changesIdle, nil
	}
	triggers := of(f.Effective(), TriggerDatabase)
	var tables []string
	for _, t := range triggers {
		tables = append(tables, t.Table)
	}
	var batch []*events.Event
	err = d.clog.Since(ctx, cur.Position, d.bus.Position(), tables, func(e *events.Event) error {
		batch = append(batch, e)
		if len(batch) == changesBatch {
			return errBatchFull
		}
		return nil
	})
	if errors.Is(err, events.ErrTooOld) {
		horizon, herr := d.repo.PrunedThrough(ctx)
		if herr != nil {
			return changesIdle, herr
		}
		d.log.Warn("database trigger fell behind the change log's retention; changes were lost",
			zap.String("function", f.Name), zap.Int64("from", cur.Position), zap.Int64("to", horizon))
		_, err = d.repo.Advance(ctx, f.ID, d.owner, horizon, lease)
		return 0, err
	}
	if err != nil && !errors.Is(err, errBatchFull) {
		return changesIdle, err
	}
	position := cur.Position
	for _, e := range batch {
		var match *Trigger
		for i := range triggers {
			if triggers[i].wants(e.Table, e.Op) {
				match = &triggers[i]
				break
			}
		}
		if match == nil {
			position = e.ID
			continue
		}
		if ok, err := d.deliver(ctx, f, e, match); err != nil || !ok {
			if err != nil {
				return changesIdle, err
			}
			if position > cur.Position {
				if _, err := d.repo.Advance(ctx, f.ID, d.owner, position, lease); err != nil {
					return changesIdle, err
				}
			}
			attempts := cur.Attempts + 1
			wait := backoff(d.base, changesMaxWait, attempts)
			return min(wait, changesIdle), d.repo.Retry(ctx, f.ID, d.owner, attempts, time.Now().Add(wait))
		}
		position, cur.Attempts = e.ID, 0
		if held, err := d.repo.Advance(ctx, f.ID, d.owner, position, lease); err != nil || !held {
			return changesIdle, err
		}
	}
	if position > cur.Position {
		if _, err := d.repo.Advance(ctx, f.ID, d.owner, position, lease); err != nil {
			return changesIdle, err
		}
	}
	if len(batch) == changesBatch {
		return 0, nil
	}
	return changesIdle, nil
}

// deliver runs f for one change; ok reports that the function took it.
func (d *Changes) deliver(ctx context.Context, f *Function, e *events.Event, t *Trigger) (bool, error) {
	payload, err := json.Marshal(map[string]any{
		"type": "database_change", "operation": e.Op, "table": e.Table,
		"data": e.Row, "old_data": e.OldRow, "event_id": e.ID,
	})
	if err != nil {
		return false, err
	}
	id := e.ID
	ok, _ := d.s.runTriggered(ctx, f, triggered{
		trigger: TriggerDatabase, payload: payload, eventID: &id,
		headers: [][2]string{{"X-Event-Id", strconv.FormatInt(e.ID, 10)}, {"X-Database-Channel", t.channel()}},
	})
	return ok, nil
}

// onceRunner runs once triggers until they return {"success": true}:
// attempts are claimed in Postgres (one instance each), and completion is
// stored there, so a success is never repeated, on any instance or after
// any restart. A failure is tried again after 5 s, doubling, up to an hour.
type onceRunner struct {
	s    *Service
	repo *Repository
	log  *zap.Logger
}

func newOnceRunner(s *Service, d *bun.DB, log *zap.Logger) *onceRunner {
	return &onceRunner{s: s, repo: NewRepository(d), log: log.Named("functions")}
}

// Name is the worker's name.
func (o *onceRunner) Name() string { return "functions.once" }

const (
	onceInterval = 2 * time.Second
	onceBase     = 5 * time.Second
	onceMaxWait  = time.Hour
)

// Run looks for due once triggers every onceInterval.
func (o *onceRunner) Run(ctx context.Context) error {
	t := time.NewTicker(onceInterval)
	defer t.Stop()
	for {
		if err := o.tick(ctx); err != nil && ctx.Err() == nil {
			o.log.Warn("once triggers not checked", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (o *onceRunner) tick(ctx context.Context) error {
	fs, err := o.repo.OnceDue(ctx)
	if err != nil {
		return err
	}
	for _, f := range fs {
		hold := time.Duration(f.TimeoutMS)*time.Millisecond + 30*time.Second
		attempt, ok, err := o.repo.ClaimOnce(ctx, f.ID, hold)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		payload, _ := json.Marshal(map[string]any{"type": TriggerOnce, "attempt": attempt})
		o.s.background(func(ctx context.Context) {
			ok, body := o.s.runTriggered(ctx, f, triggered{trigger: TriggerOnce, payload: payload})
			var res struct {
				Success bool `json:"success"`
			}
			var err error
			if ok && json.Unmarshal(bytes.TrimSpace(body), &res) == nil && res.Success {
				err = o.repo.OnceDone(ctx, f.ID)
			} else {
				err = o.repo.OnceRetry(ctx, f.ID, backoff(onceBase, onceMaxWait, attempt))
			}
			if err != nil && ctx.Err() == nil {
				o.log.Warn("once trigger state not saved", zap.String("function", f.Name), zap.Error(err))
			}
		})
	}
	return nil
}

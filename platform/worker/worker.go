package worker

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"
)

// Worker is background work supervised from start to stop.
type Worker interface {
	// Name identifies the worker in logs and metrics.
	Name() string
	// Run works until ctx is done (then it returns nil) or it fails; a
	// failure or a panic is logged and Run is called again after a back-off.
	Run(ctx context.Context) error
}

// As annotates a constructor so that its result joins the "workers" value
// group the Supervisor runs.
func As(ctor any) any {
	return fx.Annotate(ctor, fx.As(new(Worker)), fx.ResultTags(`group:"workers"`))
}

type funcWorker struct {
	name string
	run  func(context.Context) error
}

func (f funcWorker) Name() string                  { return f.name }
func (f funcWorker) Run(ctx context.Context) error { return f.run(ctx) }

// New makes a Worker of a function.
func New(name string, run func(ctx context.Context) error) Worker {
	return funcWorker{name: name, run: run}
}

// Every makes a Worker that calls job at start and then every interval. A
// failed call is logged and counted, and the next tick comes as usual: a
// periodic job is never restarted for one bad tick.
func Every(name string, interval time.Duration, job func(ctx context.Context) error) Worker {
	return periodic{name: name, interval: interval, job: job}
}

type periodic struct {
	name     string
	interval time.Duration
	job      func(context.Context) error
}

func (p periodic) Name() string { return p.name }

func (p periodic) Run(ctx context.Context) error {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		// Run at start too: instances restarted more often than the
		// interval would otherwise never run the job.
		if err := p.job(ctx); err != nil && ctx.Err() == nil {
			if r := reporterFrom(ctx); r != nil {
				r.tickFailed(p.name, err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Back-off between restarts of a failing worker.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// Supervisor runs the workers from start to stop.
type Supervisor struct {
	log      *zap.Logger
	workers  []Worker
	running  *prometheus.GaugeVec
	restarts *prometheus.CounterVec
	errors   *prometheus.CounterVec

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Params are Supervise's dependencies.
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Logger    *zap.Logger
	Registry  prometheus.Registerer
	Workers   []Worker `group:"workers"`
}

// Supervise builds the Supervisor and ties it to the lifecycle: workers
// start at OnStart and are cancelled and awaited at OnStop.
func Supervise(p Params) *Supervisor {
	s := NewSupervisor(p.Logger, p.Registry, p.Workers...)
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error { s.Start(); return nil },
		OnStop:  s.Stop,
	})
	return s
}

// NewSupervisor builds a supervisor of workers (usable without Fx).
func NewSupervisor(log *zap.Logger, reg prometheus.Registerer, workers ...Worker) *Supervisor {
	s := &Supervisor{
		log:     log.Named("worker"),
		workers: workers,
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "selfdb_worker_running", Help: "1 while a background worker runs.",
		}, []string{"worker"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "selfdb_worker_restarts_total", Help: "Background worker restarts after a failure or panic.",
		}, []string{"worker"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "selfdb_worker_errors_total", Help: "Failed runs of background workers and failed ticks of periodic jobs.",
		}, []string{"worker"}),
	}
	reg.MustRegister(s.running, s.restarts, s.errors)
	return s
}

// Restarts is the restart counter, for tests and dashboards.
func (s *Supervisor) Restarts() *prometheus.CounterVec { return s.restarts }

// Start launches every worker.
func (s *Supervisor) Start() {
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), reporterKey{}, s))
	s.cancel = cancel
	for _, w := range s.workers {
		s.wg.Add(1)
		go s.supervise(ctx, w)
	}
}

// Stop cancels the workers and waits for them, or for ctx.
func (s *Supervisor) Stop(ctx context.Context) error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("worker: stop: %w", ctx.Err())
	}
}

func (s *Supervisor) supervise(ctx context.Context, w Worker) {
	defer s.wg.Done()
	name := w.Name()
	backoff := minBackoff
	for {
		start := time.Now()
		err := s.runOnce(ctx, w)
		if ctx.Err() != nil {
			return
		}
		s.errors.WithLabelValues(name).Inc()
		s.restarts.WithLabelValues(name).Inc()
		if err == nil {
			err = fmt.Errorf("returned before stop")
		}
		// A worker that ran a good while before failing starts over from
		// the shortest back-off.
		if time.Since(start) > maxBackoff {
			backoff = minBackoff
		}
		s.log.Warn("worker failed; restarting", zap.String("worker", name), zap.Duration("after", backoff), zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// runOnce calls Run, turning a panic into an error.
func (s *Supervisor) runOnce(ctx context.Context, w Worker) (err error) {
	name := w.Name()
	s.running.WithLabelValues(name).Set(1)
	defer s.running.WithLabelValues(name).Set(0)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
			s.log.Error("worker panicked", zap.String("worker", name), zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
		}
	}()
	return w.Run(ctx)
}

type reporterKey struct{}

func reporterFrom(ctx context.Context) *Supervisor {
	s, _ := ctx.Value(reporterKey{}).(*Supervisor)
	return s
}

// tickFailed records a failed tick of a periodic job.
func (s *Supervisor) tickFailed(name string, err error) {
	s.errors.WithLabelValues(name).Inc()
	s.log.Warn("background job failed", zap.String("worker", name), zap.Error(err))
}

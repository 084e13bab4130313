package functions

import (
	"context"
	"time"

	"github.com/uptrace/bun"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/worker"
)

// recorder writes runs to selfdb.function_runs in batches, off the
// invocation path: a run is recorded once its response is done, and a full
// queue or a failing database costs the record (counted), never the call.
type recorder struct {
	repo    *Repository
	log     *zap.Logger
	metrics *metrics
	queue   chan *Run
}

const (
	recorderQueue = 10000
	recorderBatch = 500
	logCap        = 64 << 10
)

func newRecorder(d *bun.DB, log *zap.Logger, m *metrics) *recorder {
	return &recorder{repo: NewRepository(d), log: log.Named("functions"), metrics: m, queue: make(chan *Run, recorderQueue)}
}

// record queues a run; it never waits.
func (r *recorder) record(run *Run) {
	if len(run.Logs) > logCap {
		run.Logs = truncate(run.Logs, logCap) + "\n[logs truncated at 64 KB]"
	}
	select {
	case r.queue <- run:
	default:
		r.metrics.dropped.Inc()
	}
}

// Name is the worker's name.
func (r *recorder) Name() string { return "functions.recorder" }

// Run writes queued runs until ctx ends, then what is left.
func (r *recorder) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for len(r.queue) > 0 {
				r.flush(fctx, <-r.queue)
			}
			return nil
		case run := <-r.queue:
			r.flush(ctx, run)
		}
	}
}

// flush writes first and whatever else is queued, up to a batch.
func (r *recorder) flush(ctx context.Context, first *Run) {
	batch := []*Run{first}
	for len(batch) < recorderBatch {
		select {
		case run := <-r.queue:
			batch = append(batch, run)
			continue
		default:
		}
		break
	}
	if err := r.repo.InsertRuns(ctx, batch); err != nil && ctx.Err() == nil {
		r.metrics.dropped.Add(float64(len(batch)))
		r.log.Warn("function runs not recorded", zap.Int("runs", len(batch)), zap.Error(err))
	}
}

// newPruner deletes runs older than FUNCTIONS_LOG_RETENTION, on one
// instance at a time.
func newPruner(d *bun.DB, cfg *Config, log *zap.Logger) worker.Worker {
	const name = "functions.prune-runs"
	repo := NewRepository(d)
	log = log.Named("functions")
	interval := min(cfg.LogRetention/10, time.Hour)
	return worker.Every(name, interval, func(ctx context.Context) error {
		_, err := db.WithAdvisoryLock(ctx, d, name, func(ctx context.Context, tx bun.Tx) error {
			cutoff := time.Now().Add(-cfg.LogRetention)
			var total int64
			for {
				n, err := repo.WithTx(tx).PruneRuns(ctx, cutoff, 10000)
				total += n
				if err != nil || n < 10000 {
					if total > 0 {
						log.Info("old function runs pruned", zap.Int64("runs", total))
					}
					return err
				}
			}
		})
		return err
	})
}

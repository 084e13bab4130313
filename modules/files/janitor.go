package files

import (
	"context"
	"sync"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/config"
)

// Janitor runs Service.Cleanup every STORAGE_CLEANUP_INTERVAL, from start to stop.
type Janitor struct {
	svc      *Service
	interval time.Duration
	log      *zap.Logger
	stop     chan struct{}
	wg       sync.WaitGroup
}

// NewJanitor builds the janitor; RunJanitor ties it to the lifecycle.
func NewJanitor(svc *Service, cfg *config.Config, log *zap.Logger) *Janitor {
	return &Janitor{svc: svc, interval: cfg.StorageCleanupInterval, log: log.Named("files.janitor"), stop: make(chan struct{})}
}

// RunJanitor starts the janitor's goroutine at OnStart and waits for it at OnStop.
func RunJanitor(lc fx.Lifecycle, j *Janitor) {
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			j.wg.Add(1)
			go j.loop()
			return nil
		},
		OnStop: func(ctx context.Context) error {
			close(j.stop)
			done := make(chan struct{})
			go func() { j.wg.Wait(); close(done) }()
			select {
			case <-done:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
	})
}

func (j *Janitor) loop() {
	defer j.wg.Done()
	t := time.NewTicker(j.interval)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
			j.runOnce()
		}
	}
}

func (j *Janitor) runOnce() {
	ctx, cancel := context.WithTimeout(context.Background(), j.interval)
	defer cancel()
	go func() {
		select {
		case <-j.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	n, err := j.svc.Cleanup(ctx, time.Now())
	if err != nil {
		j.log.Warn("storage cleanup failed", zap.Error(err))
		return
	}
	if n > 0 {
		j.log.Info("storage cleanup", zap.Int("removed", n))
	}
}

package files

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/worker"
)

// NewJanitor is the worker that runs Service.Cleanup every
// STORAGE_CLEANUP_INTERVAL: expired pending rows (one instance per tick),
// unfinished uploads and orphaned bucket directories (every instance, since
// each may have its own volume).
func NewJanitor(svc *Service, cfg *config.Config, log *zap.Logger) worker.Worker {
	log = log.Named("files.janitor")
	return worker.Every("files.janitor", cfg.StorageCleanupInterval, func(ctx context.Context) error {
		n, err := svc.Cleanup(ctx, time.Now())
		if n > 0 {
			log.Info("storage cleanup", zap.Int("removed", n))
		}
		return err
	})
}

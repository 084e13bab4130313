package files

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/worker"
)

// NewJanitor is the worker that runs Service.Cleanup at start and every
// STORAGE_CLEANUP_INTERVAL: expired pending rows (one instance per tick),
// dead upload temp files and orphaned bucket directories (every instance,
// since each may have its own volume).
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

// uploadIdleFallback bounds how long an upload may receive nothing when
// HTTP_READ_TIMEOUT is 0 (no limit): without a bound no temp file could ever
// be known dead.
const uploadIdleFallback = 10 * time.Minute

// uploadIdleLimit is the longest an upload in progress goes without receiving
// a byte, and so without writing to its temp file: HTTP_READ_TIMEOUT (the
// upload handler turns it into an inactivity limit), else uploadIdleFallback.
func uploadIdleLimit(cfg *config.Config) time.Duration {
	if cfg.ReadTimeout > 0 {
		return cfg.ReadTimeout
	}
	return uploadIdleFallback
}

// staleTempAge is how long a temp file must have been left untouched to be
// dead, whichever instance sharing the volume created it: the idle limit plus
// a margin as long (at least 2s) for the deadline's refresh, the final fsync
// and clock skew between instances.
func staleTempAge(cfg *config.Config) time.Duration {
	idle := uploadIdleLimit(cfg)
	return idle + max(idle, 2*time.Second)
}

package files

import (
	"os"
	"path/filepath"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/modules/buckets"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/worker"
)

// Module provides the Store (local disk), *Service, the bucket-delete hook
// buckets.Contents, the janitor and the routes of api.md §5. It needs
// buckets.Module.
var Module = fx.Module("files",
	fx.Provide(
		func(cfg *config.Config, log *zap.Logger) (Store, error) {
			warnOldStorageDefault(cfg.StoragePath, log)
			return NewDiskStore(cfg.StoragePath)
		},
		func(cfg *config.Config) *Signer { return NewSigner(cfg.SecretKey) },
		fx.Annotate(NewContents, fx.As(new(buckets.Contents))),
		NewService,
		NewHandler,
		worker.As(NewJanitor),
		httpserver.AsRoutes(NewRoutes),
		users.AsOwnedData(func(s *Service) *Service { return s }),
	),
)

// oldStorageDefault was STORAGE_PATH's default until it became .data/storage,
// where `make run` keeps it.
const oldStorageDefault = "data/storage"

// warnOldStorageDefault says so at start when STORAGE_PATH is the default
// (.data/storage), that holds no bucket yet, and the old default directory
// does: the bytes of an install that relied on the old default are there.
// Nothing is moved or deleted.
func warnOldStorageDefault(path string, log *zap.Logger) {
	if filepath.Clean(path) != ".data/storage" || hasEntries(path) || !hasEntries(oldStorageDefault) {
		return
	}
	log.Warn("file bytes found under ./data/storage, the old default of STORAGE_PATH, while it now defaults to .data/storage: set STORAGE_PATH=./data/storage to keep serving them",
		zap.String("storage_path", path))
}

// hasEntries reports whether dir exists and holds anything.
func hasEntries(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) > 0
}

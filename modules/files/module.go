package files

import (
	"go.uber.org/fx"

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
		func(cfg *config.Config) (Store, error) { return NewDiskStore(cfg.StoragePath) },
		func(cfg *config.Config) *Signer { return NewSigner(cfg.SecretKey) },
		fx.Annotate(NewContents, fx.As(new(buckets.Contents))),
		NewService,
		NewHandler,
		worker.As(NewJanitor),
		httpserver.AsRoutes(NewRoutes),
		users.AsOwnedData(func(s *Service) *Service { return s }),
	),
)

package buckets

import (
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/httpserver"
)

// Module provides *Service and the /api/v1/buckets routes. It needs a
// Contents, which files.Module provides.
var Module = fx.Module("buckets",
	fx.Provide(
		NewService,
		NewHandler,
		httpserver.AsRoutes(NewRoutes),
		users.AsOwnedData(func(s *Service) *Service { return s }),
	),
)

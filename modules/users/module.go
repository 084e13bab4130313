package users

import (
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/platform/httpserver"
)

// Module provides the /api/v1/users routes and *Service; it needs auth.Module.
var Module = fx.Module("users",
	fx.Provide(
		func(s *auth.Service) Accounts { return s },
		NewService,
		NewHandler,
		httpserver.AsRoutes(NewRoutes),
	),
)

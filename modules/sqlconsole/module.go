package sqlconsole

import (
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/httpserver"
)

// Module provides the /api/v1/sql routes; it needs auth.Module and
// contributes its cleanup to users.OwnedData.
var Module = fx.Module("sqlconsole",
	fx.Provide(
		NewRepository,
		NewService,
		NewHandler,
		httpserver.AsRoutes(NewRoutes),
		users.AsOwnedData(func(r *Repository) *Repository { return r }),
	),
)

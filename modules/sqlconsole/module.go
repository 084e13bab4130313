package sqlconsole

import (
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/tables"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/httpserver"
)

// Module provides the /api/v1/sql routes; it needs auth.Module and
// tables.Module (whose metadata cache it invalidates) and contributes its
// cleanup to users.OwnedData.
var Module = fx.Module("sqlconsole",
	fx.Provide(
		NewRepository,
		func(s *tables.Service) SchemaCache { return s },
		NewService,
		NewHandler,
		httpserver.AsRoutes(NewRoutes),
		users.AsOwnedData(func(r *Repository) *Repository { return r }),
	),
)

package tables

import (
	"github.com/uptrace/bun"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/platform/httpserver"
)

// Module provides *Service and the /api/v1/tables and /api/v1/schema
// routes; it needs auth.Module.
var Module = fx.Module("tables",
	fx.Provide(
		func(db *bun.DB) *Repository { return NewRepository(db.DB) },
		NewService,
		NewHandler,
		httpserver.AsRoutes(NewRoutes),
		httpserver.AsRoutes(NewSchemaRoutes),
	),
)

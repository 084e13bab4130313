package tables

import (
	"github.com/uptrace/bun"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/httpserver"
)

// Module provides *Service and the /api/v1/tables and /api/v1/schema
// routes; it needs auth.Module.
var Module = fx.Module("tables",
	fx.Provide(
		func(bdb *bun.DB, gate *db.Gate) *Repository { return NewRepository(bdb.DB, gate) },
		func(cfg *config.Config) *Cursors { return NewCursors(cfg.SecretKey) },
		NewService,
		NewHandler,
		httpserver.AsRoutes(NewRoutes),
		httpserver.AsRoutes(NewSchemaRoutes),
	),
)

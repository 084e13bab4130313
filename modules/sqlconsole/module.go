package sqlconsole

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/tables"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/httpserver"
)

// Module provides the /api/v1/sql routes; it needs auth.Module and
// tables.Module (which owns the table policies) and contributes its cleanup to users.OwnedData. Console runs use a pool of
// their own.
var Module = fx.Module("sqlconsole",
	fx.Provide(
		newPool,
		NewRepository,
		func(s *tables.Service) Policies { return s },
		NewService,
		NewHandler,
		httpserver.AsRoutes(NewRoutes),
		users.AsOwnedData(func(r *Repository) *Repository { return r }),
	),
)

// newPool opens the console's pool, reports its stats next to the API
// pool's and closes it at stop.
func newPool(lc fx.Lifecycle, cfg *config.Config, reg prometheus.Registerer) (*Pool, error) {
	p, err := OpenPool(cfg)
	if err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewDBStatsCollector(p.DB().DB, "selfdb_sqlconsole")); err != nil {
		_ = p.Close()
		return nil, err
	}
	lc.Append(fx.Hook{OnStop: func(context.Context) error { return p.Close() }})
	return p, nil
}

package platform

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/events"
	"github.com/selfdb/selfdb/platform/health"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/logging"
	"github.com/selfdb/selfdb/platform/metrics"
	"github.com/selfdb/selfdb/platform/worker"
)

// Module is the platform: add it first in every app.
var Module = fx.Module("platform",
	fx.Provide(
		config.Load,
		logging.New,
		metrics.New,
		func(r *prometheus.Registry) prometheus.Registerer { return r },
		db.New,
		db.NewGate,
		newCache,
		httpserver.New,
		httpserver.Serve,
		httpserver.AsRoutes(health.NewRoutes),
		worker.Supervise,
		events.NewBus,
		events.NewLog,
		events.NewReader,
		worker.As(func(r *events.Reader) *events.Reader { return r }),
		worker.As(events.NewPruner),
		worker.As(events.NewCaptureSweeper),
	),
	fx.Invoke(func(*httpserver.Listener) {}, func(*worker.Supervisor) {}, httpserver.ServeAdmin),
)

// Quiet keeps Fx's own event log at debug level, its errors included, so
// start-up prints only the server's lines: the caller reports what Start
// returns (cmd/selfdb prints one line for an unreachable database rather
// than Fx's three).
var Quiet = fx.WithLogger(func(log *zap.Logger) fxevent.Logger {
	l := &fxevent.ZapLogger{Logger: log}
	l.UseLogLevel(zap.DebugLevel)
	l.UseErrorLevel(zap.DebugLevel)
	return l
})

func newCache(lc fx.Lifecycle, cfg *config.Config, log *zap.Logger, reg prometheus.Registerer) *cache.Cache {
	c := cache.New(cfg, log, reg)
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error { c.Start(); return nil },
		OnStop:  func(context.Context) error { c.Close(); return nil },
	})
	return c
}

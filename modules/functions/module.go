package functions

import (
	"context"
	"net"
	"strconv"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/worker"
)

// Module provides *Service, *Runtime, *Scheduler, *Changes and the
// /api/v1/functions routes, and runs the runtime and the trigger workers.
// It needs auth.Module (owners' tokens for callBackend) and users.Module
// (functions go with their owner).
var Module = fx.Module("functions",
	fx.Provide(
		fx.Private,
		LoadConfig,
		newMetrics,
		newRecorder,
		newOnceRunner,
	),
	fx.Provide(
		config.AsSettings(func(c *Config) config.Settings { return config.Settings{Module: "functions", Value: c} }),
		newRuntime,
		func(a *auth.Service) TokenIssuer { return a },
		NewService,
		NewScheduler,
		NewChanges,
		NewHandler,
		httpserver.AsRoutes(NewRoutes),
		users.AsOwnedData(func(s *Service) *Service { return s }),
		worker.As(runtimeWorker),
		worker.As(func(r *recorder) *recorder { return r }),
		worker.As(newPruner),
		worker.As(func(s *Scheduler) *Scheduler { return s }),
		worker.As(func(c *Changes) *Changes { return c }),
		worker.As(func(o *onceRunner) *onceRunner { return o }),
		worker.As(backgroundRuns),
	),
)

func newRuntime(cfg *Config, platform *config.Config, log *zap.Logger, m *metrics) *Runtime {
	return NewRuntime(cfg, log, m, platform.AnonKey, nil)
}

// runtimeWorker makes the runtime a worker. The server's listener (which
// callBackend calls) reaches the runtime here: the listener is built after
// the routes, which need the runtime.
func runtimeWorker(r *Runtime, ln *httpserver.Listener) worker.Worker {
	r.apiURL = func() string { return apiURL(ln) }
	return r
}

// apiURL is where this server answers its own functions' callBackend: its
// listener, on loopback when it listens on every address.
func apiURL(ln *httpserver.Listener) string {
	if ln == nil || ln.Listener == nil {
		return "http://127.0.0.1"
	}
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return "http://127.0.0.1"
	}
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// backgroundRuns is the worker whose stop cancels and awaits the runs that
// triggers and events started.
func backgroundRuns(s *Service) worker.Worker {
	return worker.New("functions.background", func(ctx context.Context) error {
		<-ctx.Done()
		s.stopBackground()
		return nil
	})
}

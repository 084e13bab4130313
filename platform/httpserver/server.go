package httpserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/identity"
)

// Params are New's dependencies.
type Params struct {
	fx.In
	Config   *config.Config
	Logger   *zap.Logger
	Registry *prometheus.Registry
	Routes   []Routes `group:"routes"`
	// Resolver comes from modules/auth; without it every caller is anon.
	Resolver identity.Resolver `optional:"true"`
}

// New builds the Fiber app with the global middleware chain and every
// module's routes. It fails on a duplicate method+path.
func New(p Params) (*fiber.App, error) {
	eh := newErrorHandler(p.Logger, p.Registry)
	app := fiber.New(fiber.Config{
		AppName:                      "selfdb",
		DisableStartupMessage:        true,
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		BodyLimit:                    p.Config.BodyLimitBytes,
		ReadTimeout:                  p.Config.ReadTimeout,
		IdleTimeout:                  p.Config.IdleTimeout,
		ReadBufferSize:               p.Config.ReadBufferBytes,
		ErrorHandler:                 eh.Handle,
		// Never 307 on a trailing slash: /users and /users/ are one route.
		StrictRouting: false,
	})

	var streamPrefixes, publicPrefixes []string
	for _, r := range p.Routes {
		if s, ok := r.(Streamer); ok {
			streamPrefixes = append(streamPrefixes, s.StreamPrefixes()...)
		}
		if s, ok := r.(Public); ok {
			publicPrefixes = append(publicPrefixes, s.PublicPrefixes()...)
		}
	}

	app.Use(requestID)
	app.Use(newObserver(p.Logger, p.Config.AccessLog, eh.Handle, p.Registry).handle)
	app.Use(recover.New(recover.Config{
		EnableStackTrace: true,
		StackTraceHandler: func(c *fiber.Ctx, e any) {
			p.Logger.Error("panic in handler", zap.Any("panic", e), zap.Stack("stack"))
		},
	}))
	app.Use(cors.New(cors.Config{
		AllowOrigins:  p.Config.CORSOrigins,
		AllowMethods:  "GET,POST,HEAD,PUT,DELETE,PATCH,OPTIONS",
		ExposeHeaders: "Content-Type,Authorization,Content-Range,Accept-Ranges,Content-Disposition,Content-Length,ETag,Last-Modified,Retry-After,X-Request-ID",
		MaxAge:        86400,
	}))
	app.Use(bodyLimit(p.Config.BodyLimitBytes, p.Config.JSONBodyLimitBytes, streamPrefixes))
	app.Use(dbDeadline(p.Config.DBRequestTimeout(), streamPrefixes))
	app.Use(anonGate(p.Config.AnonKey, publicPrefixes))
	app.Use(identity.Middleware(p.Resolver))

	var metrics fiber.Handler
	if p.Config.MetricsEnabled {
		h := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(p.Registry, promhttp.HandlerOpts{}))
		metrics = func(c *fiber.Ctx) error {
			h(c.Context())
			return nil
		}
	}
	var apis []API
	for _, r := range p.Routes {
		if d, ok := r.(Documented); ok {
			apis = append(apis, d.API())
		}
	}
	if err := checkAPIs(apis); err != nil {
		return nil, err
	}
	for _, r := range p.Routes {
		r.Register(app)
	}
	registerDocs(app, apis, publicPrefixes, metrics)
	if err := checkDuplicates(app); err != nil {
		return nil, err
	}
	return app, nil
}

// checkDuplicates refuses two handlers for one method and path.
func checkDuplicates(app *fiber.App) error {
	seen := map[string]int{}
	for _, r := range app.GetRoutes(true) {
		seen[r.Method+" "+r.Path]++
	}
	var dups []string
	for k, n := range seen {
		if n > 1 {
			dups = append(dups, k)
		}
	}
	if len(dups) > 0 {
		sort.Strings(dups)
		return fmt.Errorf("httpserver: duplicate routes: %s", strings.Join(dups, ", "))
	}
	return nil
}

// Listener is the server's bound socket, for tests and the start-up banner.
type Listener struct{ net.Listener }

// ServeParams are Serve's dependencies.
type ServeParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    *config.Config
	App       *fiber.App
	Logger    *zap.Logger
	Drainers  []Drainer `group:"drainers"`
}

// Serve binds the listener at start. At stop it first lets every Drainer
// end its long-lived connections (WebSockets), then drains in-flight
// requests.
func Serve(p ServeParams) *Listener {
	lc, cfg, app, log := p.Lifecycle, p.Config, p.App, p.Logger
	l := &Listener{}
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", cfg.Addr())
			if err != nil {
				return fmt.Errorf("API_PORT: listen on %s: %w", cfg.Addr(), err)
			}
			l.Listener = newLingerListener(ln)
			go func() {
				defer close(done)
				if err := app.Listener(l.Listener); err != nil && !errors.Is(err, net.ErrClosed) {
					log.Error("http server stopped", zap.Error(err))
				}
			}()
			log.Info("serving", zap.String("addr", ln.Addr().String()))
			return nil
		},
		OnStop: func(ctx context.Context) error {
			for _, d := range p.Drainers {
				d.Drain(ctx)
			}
			err := app.ShutdownWithContext(ctx)
			// A stop that comes before Serve registered the listener would
			// leave it accepting: closing it ourselves ends Serve either way.
			_ = l.Close()
			select {
			case <-done:
			case <-ctx.Done():
				return ctx.Err()
			}
			return err
		},
	})
	return l
}

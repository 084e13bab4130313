package health

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/events"
	"github.com/selfdb/selfdb/platform/httpserver"
)

// checkTimeout bounds every health probe, so a stopped Postgres answers 503
// promptly instead of hanging.
const checkTimeout = 1500 * time.Millisecond

// Routes serves the health endpoints.
type Routes struct {
	db       *bun.DB
	cache    *cache.Cache
	bus      *events.Bus
	migrated atomic.Bool
}

var (
	_ httpserver.Routes     = (*Routes)(nil)
	_ httpserver.Documented = (*Routes)(nil)
)

// NewRoutes builds the health routes.
func NewRoutes(database *bun.DB, c *cache.Cache, bus *events.Bus) *Routes {
	return &Routes{db: database, cache: c, bus: bus}
}

// ErrDatabase is /api/v1/health/db's failure (api.md §1); the cause stays
// in the logs.
var ErrDatabase = db.ErrUnavailable.WithMessage("Database connection error: database unreachable")

// Message is the body of GET / and of the health checks.
type Message struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message"`
}

// Liveness is GET /healthz's body.
type Liveness struct {
	Status string `json:"status"`
}

// Readiness is GET /readyz's body: each field "ok" (or "up", "live") or
// what is wrong.
type Readiness struct {
	Status     string `json:"status" doc:"ready or not_ready"`
	Database   string `json:"database" doc:"ok or unreachable"`
	Migrations string `json:"migrations" doc:"ok, pending or unknown"`
	Events     string `json:"events" doc:"live or down (reported, never makes the server unready)"`
	Cache      string `json:"cache" doc:"up, down or disabled (reported, never makes the server unready)"`
}

// Register adds the routes.
func (h *Routes) Register(r fiber.Router) { httpserver.Mount(r, h.API()) }

// API describes the routes of api.md §1.
func (h *Routes) API() httpserver.API {
	get := fiber.MethodGet
	return httpserver.API{Tag: "health", Description: "Liveness, readiness and database checks (api.md §1).", Operations: []httpserver.Operation{
		{Method: get, Path: "/", Summary: "Welcome message", Access: httpserver.NoAuth,
			Responses: []httpserver.Response{httpserver.OK(Message{})},
			Handlers: httpserver.H(func(c *fiber.Ctx) error {
				return c.JSON(Message{Message: "Welcome to SelfDB API"})
			})},
		{Method: get, Path: "/healthz", Summary: "Liveness probe", Description: "200 while the process serves.",
			Access: httpserver.NoAuth, Responses: []httpserver.Response{httpserver.OK(Liveness{})},
			Handlers: httpserver.H(func(c *fiber.Ctx) error { return c.JSON(Liveness{Status: "ok"}) })},
		{Method: get, Path: "/readyz", Summary: "Readiness probe",
			Description: "200 when Postgres answers and no migration is pending; memcached and the change-log reader are reported but never make the server unready.",
			Access:      httpserver.NoAuth,
			Responses: []httpserver.Response{httpserver.OK(Readiness{}),
				{Status: fiber.StatusServiceUnavailable, Description: "Not ready (same body, status not_ready).",
					Content: []httpserver.Media{{Type: fiber.MIMEApplicationJSON, Schema: Readiness{}}}}},
			Handlers: httpserver.H(h.ready)},
		{Method: get, Path: "/api/v1/health", Summary: "API health", Access: httpserver.NoAuth,
			Responses: []httpserver.Response{httpserver.OK(Message{})},
			Handlers: httpserver.H(func(c *fiber.Ctx) error {
				return c.JSON(Message{Status: "ok", Message: "API is running"})
			})},
		{Method: get, Path: "/api/v1/health/db", Summary: "Database health", Access: httpserver.NoAuth,
			Responses: []httpserver.Response{httpserver.OK(Message{})}, Errors: []*apperr.Error{ErrDatabase},
			Handlers: httpserver.H(func(c *fiber.Ctx) error {
				if err := h.ping(c.UserContext()); err != nil {
					return ErrDatabase.Wrap(err)
				}
				return c.JSON(Message{Status: "ok", Message: "Database connection successful"})
			})},
	}}
}

func (h *Routes) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	_, err := h.db.ExecContext(ctx, "SELECT 1")
	return err
}

// ready is 200 when Postgres answers and no migration is pending; memcached
// and the change-log reader are reported but never make the server unready.
func (h *Routes) ready(c *fiber.Ctx) error {
	status := fiber.StatusOK
	out := Readiness{Status: "ready", Database: "ok", Migrations: "ok"}
	if err := h.ping(c.UserContext()); err != nil {
		status, out.Status, out.Database = fiber.StatusServiceUnavailable, "not_ready", "unreachable"
	} else if !h.migrated.Load() {
		ctx, cancel := context.WithTimeout(c.UserContext(), checkTimeout)
		_, pending, err := db.Pending(ctx, h.db)
		cancel()
		switch {
		case err != nil:
			status, out.Status, out.Migrations = fiber.StatusServiceUnavailable, "not_ready", "unknown"
		case len(pending) > 0:
			status, out.Status, out.Migrations = fiber.StatusServiceUnavailable, "not_ready", "pending"
		default:
			h.migrated.Store(true)
		}
	}
	// The change-log reader (realtime, cache invalidation across instances)
	// is reported, like memcached, without making the server unready.
	out.Events = "live"
	if !h.bus.Live() {
		out.Events = "down"
	}
	// A live check (at most a second old), not the breaker: the breaker
	// only learns from requests, and an idle server has none.
	switch {
	case !h.cache.Enabled():
		out.Cache = "disabled"
	case h.cache.Alive():
		out.Cache = "up"
	default:
		out.Cache = "down"
	}
	return c.Status(status).JSON(out)
}

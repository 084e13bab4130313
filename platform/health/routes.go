package health

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

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

var _ httpserver.Routes = (*Routes)(nil)

// NewRoutes builds the health routes.
func NewRoutes(database *bun.DB, c *cache.Cache, bus *events.Bus) *Routes {
	return &Routes{db: database, cache: c, bus: bus}
}

// ErrDatabase is /api/v1/health/db's failure (api.md §1); the cause stays
// in the logs.
var ErrDatabase = db.ErrUnavailable.WithMessage("Database connection error: database unreachable")

// Register adds the routes.
func (h *Routes) Register(r fiber.Router) {
	r.Get("/", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"message": "Welcome to SelfDB API"})
	})
	r.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	r.Get("/readyz", h.ready)
	r.Get("/api/v1/health", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok", "message": "API is running"})
	})
	r.Get("/api/v1/health/db", func(c *fiber.Ctx) error {
		if err := h.ping(c.UserContext()); err != nil {
			return ErrDatabase.Wrap(err)
		}
		return c.JSON(fiber.Map{"status": "ok", "message": "Database connection successful"})
	})
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
	out := fiber.Map{"status": "ready", "database": "ok", "migrations": "ok"}
	if err := h.ping(c.UserContext()); err != nil {
		status, out["status"], out["database"] = fiber.StatusServiceUnavailable, "not_ready", "unreachable"
	} else if !h.migrated.Load() {
		ctx, cancel := context.WithTimeout(c.UserContext(), checkTimeout)
		_, pending, err := db.Pending(ctx, h.db)
		cancel()
		switch {
		case err != nil:
			status, out["status"], out["migrations"] = fiber.StatusServiceUnavailable, "not_ready", "unknown"
		case len(pending) > 0:
			status, out["status"], out["migrations"] = fiber.StatusServiceUnavailable, "not_ready", "pending"
		default:
			h.migrated.Store(true)
		}
	}
	// The change-log reader (realtime, cache invalidation across instances)
	// is reported, like memcached, without making the server unready.
	out["events"] = "live"
	if !h.bus.Live() {
		out["events"] = "down"
	}
	// A live check (at most a second old), not the breaker: the breaker
	// only learns from requests, and an idle server has none.
	switch {
	case !h.cache.Enabled():
		out["cache"] = "disabled"
	case h.cache.Alive():
		out["cache"] = "up"
	default:
		out["cache"] = "down"
	}
	return c.Status(status).JSON(out)
}

package httpserver_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/testkit"
)

// deadlineRoutes report the deadline of their request's context; one path
// streams (uploads).
type deadlineRoutes struct{}

var _ httpserver.Streamer = deadlineRoutes{}

func (deadlineRoutes) StreamPrefixes() []string { return []string{"/api/v1/stream/"} }

func (deadlineRoutes) Register(r fiber.Router) {
	left := func(c *fiber.Ctx) error {
		d, ok := c.UserContext().Deadline()
		if !ok {
			return c.SendString("none")
		}
		return c.SendString(fmt.Sprint(time.Until(d).Round(time.Second)))
	}
	r.Get("/api/v1/plain/deadline", left)
	r.Get("/api/v1/stream/deadline", left)
	// A wait that gave up on the request's deadline without db.Err (as a
	// cache loader's waiter does).
	r.Get("/api/v1/plain/wait", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), time.Millisecond)
		defer cancel()
		<-ctx.Done()
		return ctx.Err()
	})
}

// Every request's context ends after DB_ACQUIRE_TIMEOUT + DB_QUERY_TIMEOUT,
// so that its database work does (database/sql waits for a connection as
// long as the context allows); streamed uploads are left alone. A request
// that gave up on its deadline answers 503 database_busy with Retry-After,
// not 500.
func TestRequestDatabaseDeadline(t *testing.T) {
	app := testkit.Start(t,
		testkit.Env("DB_ACQUIRE_TIMEOUT", "2s", "DB_QUERY_TIMEOUT", "5s"),
		testkit.With(fx.Provide(httpserver.AsRoutes(func() deadlineRoutes { return deadlineRoutes{} }))))
	testkit.Run(t, app, []testkit.Case{
		{Name: "plain", Req: testkit.Req{Method: "GET", Path: "/api/v1/plain/deadline"}, Status: 200,
			Check: func(t *testing.T, r *testkit.Response) {
				if string(r.Body) != "7s" {
					t.Errorf("deadline in %s, want 7s", r.Body)
				}
			}},
		{Name: "stream", Req: testkit.Req{Method: "GET", Path: "/api/v1/stream/deadline"}, Status: 200,
			Check: func(t *testing.T, r *testkit.Response) {
				if string(r.Body) != "none" {
					t.Errorf("a streaming route's context has a deadline in %s", r.Body)
				}
			}},
		{Name: "deadline passed", Req: testkit.Req{Method: "GET", Path: "/api/v1/plain/wait"}, Status: 503,
			Want:       map[string]any{"code": "database_busy", "detail": "Database busy, try again shortly"},
			WantHeader: map[string]string{"Retry-After": "1"}},
	})
}

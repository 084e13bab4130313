package httpserver_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// probeRoutes are test-only routes exercising the server's error paths.
type probeRoutes struct{}

func (probeRoutes) Register(r fiber.Router) {
	r.Get("/api/v1/probe/panic", func(*fiber.Ctx) error { panic("boom: secret internals") })
	r.Get("/api/v1/probe/items", func(c *fiber.Ctx) error { return c.JSON([]int{1}) })
	r.Get("/api/v1/probe/items/:item_id", func(c *fiber.Ctx) error { return c.SendString(c.Params("item_id")) })
	r.Post("/api/v1/probe/echo", func(c *fiber.Ctx) error { return c.Send(c.Body()) })
	r.Get("/api/v1/probe/conflict", func(*fiber.Ctx) error {
		return apperr.Conflict("thing_exists", "Thing exists").WithHeader("X-Why", "because")
	})
	r.Get("/api/v1/probe/extra", func(*fiber.Ctx) error {
		return apperr.Invalid("bad_thing", "Bad thing").With("line", 3).With("code", "not this one")
	})
	r.Get("/api/v1/probe/validation", func(*fiber.Ctx) error {
		return apperr.Validation(apperr.Field("body", "email", "field required", "missing"))
	})
}

func start(t *testing.T) *testkit.App {
	return testkit.Start(t,
		testkit.Env("BODY_LIMIT_BYTES", "1024", "CORS_ORIGINS", "*"),
		testkit.With(fx.Provide(httpserver.AsRoutes(func() probeRoutes { return probeRoutes{} }))))
}

const keyDetail = "Missing or invalid anon-key. Every request must include a valid anon-key in the header or query params."

func TestServerContract(t *testing.T) {
	app := start(t)
	origin := map[string]string{"Origin": "https://app.example"}
	testkit.Run(t, app, []testkit.Case{
		{Name: "welcome", Req: testkit.Req{Method: "GET", Path: "/"}, Status: 200,
			Want: map[string]any{"message": "Welcome to SelfDB API"}},
		{Name: "no key", Req: testkit.Req{Method: "GET", Path: "/api/v1/health", NoKey: true, Headers: origin}, Status: 401,
			Want:       map[string]any{"detail": keyDetail, "code": "invalid_anon_key"},
			WantHeader: map[string]string{"Access-Control-Allow-Origin": "*"}},
		{Name: "wrong key", Req: testkit.Req{Method: "GET", Path: "/api/v1/health", NoKey: true, Headers: map[string]string{"apikey": "nope"}}, Status: 401,
			Want: map[string]any{"detail": keyDetail}},
		{Name: "header apikey", Req: testkit.Req{Method: "GET", Path: "/api/v1/health", NoKey: true, Headers: map[string]string{"apikey": testkit.AnonKey}}, Status: 200,
			Want: map[string]any{"status": "ok", "message": "API is running"}},
		{Name: "header anon-key", Req: testkit.Req{Method: "GET", Path: "/api/v1/health", NoKey: true, Headers: map[string]string{"anon-key": testkit.AnonKey}}, Status: 200},
		{Name: "query apikey", Req: testkit.Req{Method: "GET", Path: "/api/v1/health?apikey=" + testkit.AnonKey, NoKey: true}, Status: 200},
		{Name: "query anon-key", Req: testkit.Req{Method: "GET", Path: "/api/v1/health?anon-key=" + testkit.AnonKey, NoKey: true}, Status: 200},
		{Name: "healthz public", Req: testkit.Req{Method: "GET", Path: "/healthz", NoKey: true}, Status: 200},
		{Name: "readyz public", Req: testkit.Req{Method: "GET", Path: "/readyz", NoKey: true}, Status: 200,
			Want: map[string]any{"status": "ready", "database": "ok", "migrations": "ok", "cache": "up"}},
		{Name: "metrics public", Req: testkit.Req{Method: "GET", Path: "/metrics", NoKey: true}, Status: 200,
			Check: func(t *testing.T, r *testkit.Response) {
				if !strings.Contains(string(r.Body), "selfdb_http_request_duration_seconds") {
					t.Error("metrics lack the request histogram")
				}
			}},
		{Name: "preflight public", Req: testkit.Req{Method: "OPTIONS", Path: "/api/v1/users", NoKey: true,
			Headers: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}}, Status: 204,
			WantHeader: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Max-Age": "86400"}},
		{Name: "openapi public", Req: testkit.Req{Method: "GET", Path: "/api/v1/openapi.json", NoKey: true}, Status: 200,
			Want: map[string]any{"openapi": "3.0.3", "paths": map[string]any{
				"/api/v1/health":      map[string]any{"get": testkit.Present},
				"/api/v1/probe/echo":  map[string]any{"post": testkit.Present},
				"/api/v1/probe/items": map[string]any{"get": testkit.Present},
				"/api/v1/probe/items/{item_id}": map[string]any{"get": map[string]any{
					"parameters": []any{map[string]any{"name": "item_id", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}}}},
			}}},
		{Name: "docs public", Req: testkit.Req{Method: "GET", Path: "/docs", NoKey: true}, Status: 200},
		{Name: "redoc public", Req: testkit.Req{Method: "GET", Path: "/api/v1/redoc", NoKey: true}, Status: 200},
		{Name: "db health", Req: testkit.Req{Method: "GET", Path: "/api/v1/health/db"}, Status: 200,
			Want: map[string]any{"status": "ok", "message": "Database connection successful"}},
		{Name: "unknown route", Req: testkit.Req{Method: "GET", Path: "/api/v1/nope"}, Status: 404,
			Want: map[string]any{"detail": "Not Found", "code": "not_found"}},
		{Name: "unknown route without key is 401", Req: testkit.Req{Method: "GET", Path: "/api/v1/nope", NoKey: true}, Status: 401},
		{Name: "wrong method", Req: testkit.Req{Method: "DELETE", Path: "/api/v1/health"}, Status: 405,
			Want: map[string]any{"detail": "Method Not Allowed", "code": "method_not_allowed"}},
		{Name: "trailing slash", Req: testkit.Req{Method: "GET", Path: "/api/v1/probe/items/"}, Status: 200, Want: []any{1}},
		{Name: "no trailing slash", Req: testkit.Req{Method: "GET", Path: "/api/v1/probe/items"}, Status: 200, Want: []any{1}},
		{Name: "body within limit", Req: testkit.Req{Method: "POST", Path: "/api/v1/probe/echo", Body: strings.Repeat("a", 1000)}, Status: 200},
		{Name: "body over limit", Req: testkit.Req{Method: "POST", Path: "/api/v1/probe/echo", Body: strings.Repeat("a", 5000)}, Status: 413,
			Want: map[string]any{"code": "body_too_large", "detail": "Request body too large"}},
		{Name: "panic is a clean 500", Req: testkit.Req{Method: "GET", Path: "/api/v1/probe/panic"}, Status: 500,
			Want: map[string]any{"detail": "Internal server error", "code": "internal"},
			Check: func(t *testing.T, r *testkit.Response) {
				if strings.Contains(string(r.Body), "secret") {
					t.Errorf("500 leaks internals: %s", r.Body)
				}
			}},
		{Name: "still serving after panic", Req: testkit.Req{Method: "GET", Path: "/api/v1/health"}, Status: 200},
		{Name: "apperr with header", Req: testkit.Req{Method: "GET", Path: "/api/v1/probe/conflict"}, Status: 409,
			Want:       map[string]any{"detail": "Thing exists", "code": "thing_exists", "message": "Thing exists"},
			WantHeader: map[string]string{"X-Why": "because"}},
		{Name: "apperr with extra members", Req: testkit.Req{Method: "GET", Path: "/api/v1/probe/extra"}, Status: 400,
			Want: map[string]any{"detail": "Bad thing", "code": "bad_thing", "message": "Bad thing", "line": 3}},
		{Name: "validation shape", Req: testkit.Req{Method: "GET", Path: "/api/v1/probe/validation"}, Status: 422,
			Want: map[string]any{"code": "validation_failed", "detail": []any{map[string]any{"loc": []any{"body", "email"}, "msg": "field required", "type": "missing"}}}},
	})
}

func TestRequestID(t *testing.T) {
	app := start(t)
	r := app.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/health", Headers: map[string]string{"X-Request-ID": "abc-123"}})
	if got := r.Header.Get("X-Request-ID"); got != "abc-123" {
		t.Errorf("request id echoed as %q", got)
	}
	r = app.Do(t, testkit.Req{Method: "GET", Path: "/api/v1/health", Headers: map[string]string{"X-Request-ID": strings.Repeat("x", 500)}})
	if got := r.Header.Get("X-Request-ID"); len(got) != 36 {
		t.Errorf("oversized request id not replaced: %q", got)
	}
}

// A streamed body (larger than Fiber's read buffer, sent chunked over a real
// socket) is still bounded.
func TestStreamedBodyLimit(t *testing.T) {
	app := start(t)
	req, _ := http.NewRequest("POST", app.URL()+"/api/v1/probe/echo", strings.NewReader(strings.Repeat("b", 64<<10)))
	req.Header.Set("apikey", testkit.AnonKey)
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
}

func TestDuplicateRoutesRefused(t *testing.T) {
	cfg, err := config.Parse(testkit.TestEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = httpserver.New(httpserver.Params{
		Config: cfg, Logger: zap.NewNop(), Registry: prometheus.NewRegistry(),
		Routes: []httpserver.Routes{probeRoutes{}, probeRoutes{}},
	})
	if err == nil || !strings.Contains(err.Error(), "GET /api/v1/probe/items") {
		t.Fatalf("duplicate routes accepted: %v", err)
	}
}

// Label values must not alias Fiber's per-request buffers: on a keep-alive
// connection the next request overwrites them, and a corrupted label (e.g.
// "GETT") made /metrics fail with 500 for the rest of the process.
func TestMetricsLabelsSurviveBufferReuse(t *testing.T) {
	app := start(t)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	send := func(method, path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, app.URL()+path, strings.NewReader(body))
		req.Header.Set("apikey", testkit.AnonKey)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return resp
	}
	for range 3 {
		send("POST", "/api/v1/probe/echo", "x")
		send("DELETE", "/api/v1/health", "")
		send("GET", "/api/v1/probe/items/abc", "")
		send("PATCH", "/api/v1/nope", "")
	}
	resp := send("GET", "/metrics", "")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics answered %d: %s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`method="POST",route="/api/v1/probe/echo",status="200"`,
		`method="DELETE",route="unmatched",status="405"`,
		`method="GET",route="/api/v1/probe/items/:item_id",status="200"`,
		`method="PATCH",route="unmatched",status="404"`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks series %s", want)
		}
	}
}

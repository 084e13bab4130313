package httpserver_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
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

// countingBody is an endless JSON string body that counts what the client
// sent of it: with the socket buffers, a bound on what the server read.
type countingBody struct{ n atomic.Int64 }

func (b *countingBody) Read(p []byte) (int, error) {
	if b.n.Load() == 0 && len(p) > 0 {
		p[0] = '"'
		b.n.Add(1)
		return 1, nil
	}
	for i := range p {
		p[i] = 'a'
	}
	b.n.Add(int64(len(p)))
	return len(p), nil
}

// postOverSocket sends body to the echo route through the real listener.
func postOverSocket(t *testing.T, app *testkit.App, ctype string, body io.Reader, length int64) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", app.URL()+"/api/v1/probe/echo", body)
	req.Header.Set("apikey", testkit.AnonKey)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.ContentLength = length
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// JSON bodies have a small limit of their own, enforced while the body
// streams in: an endless chunked body is refused with 413 after about the
// limit, not after BODY_LIMIT_BYTES or its end.
func TestJSONBodyLimit(t *testing.T) {
	const jsonLimit, bodyLimit = 256 << 10, 64 << 20
	app := testkit.Start(t,
		testkit.Env("JSON_BODY_LIMIT_BYTES", strconv.Itoa(jsonLimit), "BODY_LIMIT_BYTES", strconv.Itoa(bodyLimit)),
		testkit.With(fx.Provide(httpserver.AsRoutes(func() probeRoutes { return probeRoutes{} }))))
	under := `"` + strings.Repeat("a", jsonLimit-2) + `"`
	for _, c := range []struct {
		name   string
		ctype  string
		body   string
		length int64 // -1: chunked
		status int
	}{
		{"JSON at the limit", "application/json", under, int64(len(under)), 200},
		{"chunked JSON at the limit", "application/json", under, -1, 200},
		{"no Content-Type at the limit", "", under, -1, 200},
		{"JSON one byte over", "application/json", under + " ", int64(len(under) + 1), 413},
		{"chunked JSON one byte over", "application/json", under + " ", -1, 413},
		{"chunked +json one byte over", "application/vnd.api+json", under + " ", -1, 413},
		{"other types keep BODY_LIMIT_BYTES", "text/plain", under + under, -1, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := postOverSocket(t, app, c.ctype, strings.NewReader(c.body), c.length)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %.200s", resp.StatusCode, c.status, body)
			}
			if c.status == 200 && string(body) != c.body {
				t.Fatalf("echoed %d bytes, sent %d", len(body), len(c.body))
			}
			if c.status == 413 && !resp.Close {
				t.Error("413 leaves the connection open")
			}
		})
	}

	t.Run("endless chunked JSON", func(t *testing.T) {
		src := &countingBody{}
		resp, body := postOverSocket(t, app, "application/json", src, -1)
		if resp.StatusCode != 413 {
			t.Fatalf("status %d: %.200s", resp.StatusCode, body)
		}
		if msg := testkit.Match(map[string]any{"code": "body_too_large", "detail": "Request body too large"}, jsonBody(t, body)); msg != "" {
			t.Fatal(msg)
		}
		// The socket buffers hold a few MiB besides what the server read.
		if sent := src.n.Load(); sent > 24<<20 {
			t.Errorf("the client sent %d MiB before the 413", sent>>20)
		} else {
			t.Logf("the client sent %d KiB before the 413", sent>>10)
		}
	})
}

func jsonBody(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %.200s", b)
	}
	return v
}

// Headers past the server's read buffer are 431 in the contract's body, not
// a reset or a bare 400, however much the client still has to send.
func TestHeadersTooLarge(t *testing.T) {
	app := start(t)
	get := func(header int) (*http.Response, []byte, error) {
		req, _ := http.NewRequest("GET", app.URL()+"/api/v1/health", nil)
		req.Header.Set("apikey", testkit.AnonKey)
		req.Header.Set("X-Big", strings.Repeat("h", header))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}
	for _, size := range []int{20 << 10, 8 << 20} {
		resp, body, err := get(size)
		if err != nil {
			t.Fatalf("a %d KiB header: %v", size>>10, err)
		}
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("a %d KiB header: status %d, want 431: %s", size>>10, resp.StatusCode, body)
		}
		if msg := testkit.Match(map[string]any{"code": "headers_too_large", "detail": testkit.Present}, jsonBody(t, body)); msg != "" {
			t.Fatalf("%s: %s", msg, body)
		}
	}
	if resp, body, err := get(8 << 10); err != nil || resp.StatusCode != 200 {
		t.Fatalf("an 8 KiB header: %v %v %s", resp, err, body)
	}
}

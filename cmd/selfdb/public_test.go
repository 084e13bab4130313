package main

import (
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/testkit"
)

// The paths api.md §0.2 serves without the anon key.
var (
	publicExact = map[string]bool{
		"/docs": true, "/redoc": true, "/openapi.json": true, "/api/v1/docs": true, "/api/v1/redoc": true,
		"/api/v1/openapi.json": true, "/metrics": true, "/healthz": true, "/readyz": true,
		"/api/v1/realtime/ws": true, "/api/v1/auth/refresh": true,
	}
	publicPrefixes = []string{"/files/", "/static/"}
)

// Every route of the whole product answers the anon-key 401 without the
// key, except the public paths of api.md §0.2; POST /api/v1/auth/refresh is
// one of them (amended) and gets past the gate.
func TestEveryOtherRouteNeedsTheAnonKey(t *testing.T) {
	app := testkit.Start(t, testkit.With(modules))
	const detail = "Missing or invalid anon-key. Every request must include a valid anon-key in the header or query params."
	checked := 0
	for _, r := range app.Fiber.GetRoutes(true) {
		switch r.Method {
		case fiber.MethodHead, fiber.MethodConnect, fiber.MethodTrace, fiber.MethodOptions:
			continue
		}
		segs := strings.Split(r.Path, "/")
		for i, s := range segs {
			if strings.HasPrefix(s, ":") || s == "*" || s == "+" {
				segs[i] = "x"
			}
		}
		path := strings.Join(segs, "/")
		public := publicExact[path]
		for _, p := range publicPrefixes {
			public = public || strings.HasPrefix(path, p)
		}
		resp := app.Do(t, testkit.Req{Method: r.Method, Path: path, NoKey: true})
		isGate := resp.Status == 401 && strings.Contains(string(resp.Body), detail)
		if public == isGate {
			t.Errorf("%s %s without the key: %d %s (public: %v)", r.Method, path, resp.Status, resp.Body, public)
		}
		checked++
	}
	if checked < 50 {
		t.Fatalf("only %d routes checked; the route walk is broken", checked)
	}
	r := app.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/refresh", NoKey: true, Body: map[string]any{"refresh_token": "nope"}})
	if r.Status != 401 || !strings.Contains(string(r.Body), "invalid_refresh_token") {
		t.Errorf("refresh without the key: %d %s", r.Status, r.Body)
	}
}

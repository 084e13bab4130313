package httpserver_test

import (
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/testkit"
)

// bucketLike is a request body with an embedded part, as DTOs have.
type bucketLike struct {
	Name     string `json:"name"`
	IsPublic *bool  `json:"is_public"`
	Skipped  string `json:"-"`
	meta
}

type meta struct {
	Description *string `json:"description"`
}

type decodeRoutes struct{}

func (decodeRoutes) Register(r fiber.Router) {
	r.Post("/api/v1/probe/decode", func(c *fiber.Ctx) error {
		var in bucketLike
		if err := httpserver.DecodeJSON(c, &in); err != nil {
			return err
		}
		return c.JSON(in)
	})
	r.Post("/api/v1/probe/decode-map", func(c *fiber.Ctx) error {
		var in map[string]any
		return httpserver.DecodeJSON(c, &in)
	})
}

// Unknown fields of a JSON body are still accepted (SDK compatibility) and,
// at debug level, logged with their names; nothing is logged above debug.
func TestUnknownJSONFieldsAreLoggedAtDebug(t *testing.T) {
	for _, level := range []zapcore.Level{zapcore.DebugLevel, zapcore.InfoLevel} {
		core, logs := observer.New(level)
		cfg, err := config.Parse(testkit.TestEnv(t))
		if err != nil {
			t.Fatal(err)
		}
		app, err := httpserver.New(httpserver.Params{Config: cfg, Logger: zap.New(core), Registry: prometheus.NewRegistry(),
			Routes: []httpserver.Routes{decodeRoutes{}}})
		if err != nil {
			t.Fatal(err)
		}
		post := func(path, body string) int {
			t.Helper()
			req := testkit.BuildRequest(t, testkit.Req{Method: "POST", Path: path, Body: body, Headers: map[string]string{"Content-Type": "application/json"}})
			resp, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if s := post("/api/v1/probe/decode", `{"name":"b","isPublic":true,"NAME":"c","Description":"d","extra":{"x":1},"Skipped":"s"}`); s != 200 {
			t.Fatalf("status %d: unknown fields must be accepted", s)
		}
		if s := post("/api/v1/probe/decode", `{"name":"b","is_public":true,"description":"d"}`); s != 200 {
			t.Fatalf("status %d", s)
		}
		if s := post("/api/v1/probe/decode-map", `{"anything":1}`); s != 200 {
			t.Fatalf("status %d", s)
		}
		found := logs.FilterMessage("unknown JSON fields ignored").All()
		if level > zapcore.DebugLevel {
			if len(found) != 0 {
				t.Errorf("logged above debug: %v", found)
			}
			continue
		}
		if len(found) != 1 {
			t.Fatalf("%d log entries, want 1 (only the body with unknown fields): %v", len(found), found)
		}
		fields := found[0].ContextMap()
		got, _ := fields["fields"].([]any)
		var names []string
		for _, n := range got {
			names = append(names, n.(string))
		}
		if strings.Join(names, ",") != "Skipped,extra,isPublic" || fields["path"] != "/api/v1/probe/decode" || found[0].Level != zapcore.DebugLevel {
			t.Errorf("logged %v", found[0])
		}
	}
}

package httpserver_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/testkit"
)

// widget is a documented probe's DTO.
type widget struct {
	ID        uuid.UUID  `json:"id"`
	Name      string     `json:"name"`
	Note      *string    `json:"note"`
	Tags      []string   `json:"tags,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	Parent    *widget    `json:"parent"`
	Hidden    string     `json:"-"`
	Inner     widgetMeta `json:"meta"`
}

type widgetMeta struct {
	Size int64 `json:"size"`
}

type widgetIn struct {
	Name *string    `json:"name"`
	Meta widgetMeta `json:"meta"`
}

var errNoWidget = apperr.NotFound("widget_not_found", "Widget not found")

// docRoutes are documented probe routes.
type docRoutes struct{}

func (d docRoutes) Register(r fiber.Router) { httpserver.Mount(r, d.API()) }

func (docRoutes) API() httpserver.API {
	ok := func(c *fiber.Ctx) error { return c.JSON(widget{}) }
	return httpserver.API{Tag: "widgets", Operations: []httpserver.Operation{
		{Method: fiber.MethodGet, Path: "/api/v1/widgets/:widget_id", Summary: "Read a widget", Access: httpserver.Anyone,
			Params:    []httpserver.Param{httpserver.InPath("widget_id", uuid.UUID{}, "The widget's id.")},
			Responses: []httpserver.Response{httpserver.OK(widget{})}, Errors: []*apperr.Error{errNoWidget},
			Handlers: httpserver.H(ok)},
		{Method: fiber.MethodPost, Path: "/api/v1/widgets", Summary: "Create a widget", Access: httpserver.Superuser,
			Body:      httpserver.JSON(widgetIn{}, "name"),
			Responses: []httpserver.Response{httpserver.Created(widget{})}, Handlers: httpserver.H(ok)},
		{Method: fiber.MethodPut, Path: "/api/v1/widgets/:widget_id/blob", Summary: "Store a widget's bytes", Access: httpserver.NoAuth,
			Body:      &httpserver.Body{Content: []httpserver.Media{{Type: fiber.MIMEOctetStream, Schema: httpserver.Binary}}},
			Responses: []httpserver.Response{httpserver.NoContent()}, Handlers: httpserver.H(ok)},
		{Method: fiber.MethodDelete, Path: "/api/v1/widgets/:widget_id", Summary: "Delete a widget", Access: httpserver.User,
			Responses: []httpserver.Response{httpserver.NoContent()}, Handlers: httpserver.H(ok)},
	}}
}

// The document of documented routes validates and is complete; the probe
// routes registered without a description are reported, each by name.
func TestOpenAPIDocument(t *testing.T) {
	app := testkit.Start(t, testkit.With(fx.Provide(
		httpserver.AsRoutes(func() docRoutes { return docRoutes{} }),
		httpserver.AsRoutes(func() probeRoutes { return probeRoutes{} }),
	)))
	problems := testkit.OpenAPIProblems(t, app)
	var other []string
	undocumented := map[string]bool{}
	for _, p := range problems {
		if strings.Contains(p, "/api/v1/probe/") && strings.Contains(p, "registered without a description") {
			undocumented[p[:strings.Index(p, ":")]] = true
		} else {
			other = append(other, p)
		}
	}
	if len(other) > 0 {
		t.Errorf("problems besides the undocumented probes:\n%s", strings.Join(other, "\n"))
	}
	for _, want := range []string{"GET /api/v1/probe/items", "POST /api/v1/probe/echo", "GET /api/v1/probe/items/"} {
		found := false
		for k := range undocumented {
			found = found || strings.HasPrefix(k, want)
		}
		if !found {
			t.Errorf("the undocumented route %s is not reported (got %v)", want, undocumented)
		}
	}

	doc := app.Do(t, testkit.Req{Method: "GET", Path: "/openapi.json", NoKey: true}).Expect(t, 200).Map(t)
	ref := func(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
	errRef := map[string]any{"application/json": map[string]any{"schema": ref("Error")}}
	want := map[string]any{
		"paths": map[string]any{
			"/api/v1/widgets/{widget_id}": map[string]any{
				"get": map[string]any{
					"tags": []any{"widgets"}, "summary": "Read a widget",
					"parameters": []any{map[string]any{"name": "widget_id", "in": "path", "required": true,
						"description": "The widget's id.", "schema": map[string]any{"type": "string", "format": "uuid"}}},
					"security": []any{map[string]any{"apikey": []any{}}, map[string]any{"apikey": []any{}, "bearer": []any{}}},
					"responses": map[string]any{
						"200":     map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": ref("httpserver_test.Widget")}}},
						"401":     map[string]any{"x-error-codes": []any{"invalid_anon_key"}, "content": errRef},
						"404":     map[string]any{"x-error-codes": []any{"widget_not_found"}, "content": errRef},
						"422":     map[string]any{"x-error-codes": []any{"validation_failed"}, "content": errRef},
						"default": map[string]any{"content": errRef},
					},
				},
				"delete": map[string]any{
					"security":  []any{map[string]any{"apikey": []any{}, "bearer": []any{}}},
					"responses": map[string]any{"204": map[string]any{"description": "No Content"}, "401": map[string]any{"x-error-codes": []any{"invalid_anon_key", "not_authenticated"}}},
				},
			},
			"/api/v1/widgets": map[string]any{"post": map[string]any{
				"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
					"type": "object", "additionalProperties": true, "required": []any{"name"},
					"properties": map[string]any{
						// A pointer in a request is a field that may be left out, not a null.
						"name": map[string]any{"type": "string", "nullable": testkit.Absent},
						"meta": ref("httpserver_test.WidgetMeta"),
					}}}}},
				"responses": map[string]any{"201": testkit.Present, "403": map[string]any{"x-error-codes": []any{"not_enough_privileges"}}},
			}},
			// A Schema is used as it is; a raw body is not validated (no 422).
			"/api/v1/widgets/{widget_id}/blob": map[string]any{"put": map[string]any{
				"requestBody": map[string]any{"content": map[string]any{"application/octet-stream": map[string]any{
					"schema": map[string]any{"type": "string", "format": "binary"}}}},
				"security":  []any{map[string]any{"apikey": []any{}}},
				"responses": map[string]any{"422": testkit.Absent},
			}},
			"/healthz": map[string]any{"get": map[string]any{"security": []any{}}},
			"/docs":    map[string]any{"get": map[string]any{"security": []any{}}},
		},
		"components": map[string]any{"schemas": map[string]any{
			"httpserver_test.Widget": map[string]any{
				"type":     "object",
				"required": []any{"created_at", "id", "meta", "name", "note", "parent"},
				"properties": map[string]any{
					"id":         map[string]any{"type": "string", "format": "uuid"},
					"note":       map[string]any{"type": "string", "nullable": true},
					"tags":       map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
					"created_at": map[string]any{"type": "string", "format": "date-time"},
					"parent":     map[string]any{"nullable": true, "allOf": []any{ref("httpserver_test.Widget")}},
					"meta":       ref("httpserver_test.WidgetMeta"),
				},
			},
			// Reached from a request body too: open, nothing required.
			"httpserver_test.WidgetMeta": map[string]any{"type": "object", "additionalProperties": true},
			"Error":                      map[string]any{"required": []any{"code", "detail"}},
		}},
	}
	if msg := testkit.Match(want, doc); msg != "" {
		t.Fatal(msg)
	}
	widgetSchema := doc["components"].(map[string]any)["schemas"].(map[string]any)["httpserver_test.Widget"].(map[string]any)
	if _, ok := widgetSchema["properties"].(map[string]any)["Hidden"]; ok {
		t.Error(`a json:"-" field is documented`)
	}
	if _, ok := doc["components"].(map[string]any)["schemas"].(map[string]any)["httpserver_test.WidgetMeta"].(map[string]any)["required"]; ok {
		t.Error("a request component lists required fields")
	}
}

// An operation a generator could not use stops the server from starting.
func TestOperationWithoutSummaryRefused(t *testing.T) {
	cfg, err := config.Parse(testkit.TestEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = httpserver.New(httpserver.Params{
		Config: cfg, Logger: zap.NewNop(), Registry: prometheus.NewRegistry(),
		Routes: []httpserver.Routes{badRoutes{}},
	})
	if err == nil || !strings.Contains(err.Error(), "GET /api/v1/bad has no summary") {
		t.Fatalf("an operation without a summary was accepted: %v", err)
	}
}

type badRoutes struct{}

func (b badRoutes) Register(r fiber.Router) { httpserver.Mount(r, b.API()) }

func (badRoutes) API() httpserver.API {
	return httpserver.API{Tag: "bad", Operations: []httpserver.Operation{{Method: fiber.MethodGet, Path: "/api/v1/bad",
		Responses: []httpserver.Response{httpserver.NoContent()}, Handlers: httpserver.H(func(c *fiber.Ctx) error { return nil })}}}
}

// /docs and /redoc work without internet: the pages name no other host,
// and every script and style they load is served from the binary.
func TestDocsPagesAreSelfContained(t *testing.T) {
	app := start(t)
	asset := regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	for _, page := range []string{"/docs", "/redoc", "/api/v1/docs", "/api/v1/redoc"} {
		r := app.Do(t, testkit.Req{Method: "GET", Path: page, NoKey: true}).Expect(t, 200)
		html := string(r.Body)
		if strings.Contains(html, "http://") || strings.Contains(html, "https://") || strings.Contains(html, `"//`) {
			t.Errorf("%s references another host:\n%s", page, html)
		}
		if !strings.Contains(html, "/api/v1/openapi.json") {
			t.Errorf("%s does not load the document", page)
		}
		refs := asset.FindAllStringSubmatch(html, -1)
		if len(refs) == 0 {
			t.Errorf("%s loads no assets", page)
		}
		for _, m := range refs {
			a := app.Do(t, testkit.Req{Method: "GET", Path: m[1], NoKey: true})
			if a.Status != 200 || len(a.Body) < 10000 {
				t.Errorf("%s: asset %s: %d, %d bytes", page, m[1], a.Status, len(a.Body))
			}
			ct := a.Header.Get("Content-Type")
			if !strings.Contains(ct, "javascript") && !strings.Contains(ct, "css") {
				t.Errorf("%s: asset %s served as %q", page, m[1], ct)
			}
		}
	}
	if strings.Contains(string(app.Do(t, testkit.Req{Method: "GET", Path: "/docs", NoKey: true}).Body), "validatorUrl: null") == false {
		t.Error("Swagger UI would ask an online validator about the document")
	}
	for _, lic := range []string{"/static/docs/swagger-ui/LICENSE", "/static/docs/redoc/LICENSE"} {
		app.Do(t, testkit.Req{Method: "GET", Path: lic, NoKey: true}).Expect(t, 200)
	}
}

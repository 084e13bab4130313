package httpserver

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// openAPI builds an OpenAPI 3 document from the registered routes, so that
// it can never drift from what the server serves: every path and method,
// path parameters, one tag per area, and the two credentials (anon key,
// Bearer JWT). Request and response schemas are in api.md.
func openAPI(app *fiber.App, publicPrefixes []string) []byte {
	paths := map[string]map[string]any{}
	for _, r := range app.GetRoutes(true) {
		if r.Method == fiber.MethodHead || r.Method == fiber.MethodConnect || r.Method == fiber.MethodTrace || r.Path == "/" && r.Method != fiber.MethodGet {
			continue
		}
		path, params := openAPIPath(r.Path)
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		op := map[string]any{
			"tags":        []string{tagOf(path)},
			"operationId": strings.ToLower(r.Method) + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_", ".", "_").Replace(path),
			"responses": map[string]any{
				"200":     map[string]any{"description": "Success"},
				"default": map[string]any{"description": `Error: {"detail": string|[...], "code": string}`},
			},
		}
		if len(params) > 0 {
			ps := make([]any, 0, len(params))
			for _, p := range params {
				ps = append(ps, map[string]any{"name": p, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
			op["parameters"] = ps
		}
		if publicPath(r.Method, r.Path, publicPrefixes) {
			op["security"] = []any{}
		}
		paths[path][strings.ToLower(r.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "SelfDB API",
			"version":     "1.0.0",
			"description": "Self-hosted backend: auth, users, storage, tables, SQL, functions, realtime.",
		},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"apikey": map[string]any{"type": "apiKey", "in": "header", "name": "apikey"},
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
			},
		},
		"security": []any{map[string]any{"apikey": []any{}}, map[string]any{"apikey": []any{}, "bearer": []any{}}},
	}
	b, _ := json.Marshal(doc)
	return b
}

// openAPIPath turns /users/:user_id into /users/{user_id}.
func openAPIPath(p string) (string, []string) {
	segs := strings.Split(p, "/")
	var params []string
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, ":"):
			name := strings.TrimSuffix(strings.TrimPrefix(s, ":"), "?")
			params = append(params, name)
			segs[i] = "{" + name + "}"
		case s == "*" || s == "+":
			params = append(params, "path")
			segs[i] = "{path}"
		}
	}
	sort.Strings(params)
	return strings.Join(segs, "/"), params
}

func tagOf(path string) string {
	rest := strings.TrimPrefix(path, "/api/v1/")
	if rest == path {
		if strings.HasPrefix(path, "/files/") {
			return "storage"
		}
		return "health"
	}
	tag, _, _ := strings.Cut(rest, "/")
	return tag
}

const docsPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>SelfDB API</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#ui"});</script>
</body></html>`

const redocPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>SelfDB API</title></head>
<body><redoc spec-url="/api/v1/openapi.json"></redoc>
<script src="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"></script>
</body></html>`

// registerDocs serves the document and the interactive pages (api.md §0.7).
// The document is built once, after every module has registered its routes.
func registerDocs(app *fiber.App, publicPrefixes []string) {
	var doc []byte
	serveDoc := func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		return c.Send(doc)
	}
	html := func(page string) fiber.Handler {
		return func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
			return c.SendString(page)
		}
	}
	for _, p := range []string{"/openapi.json", "/api/v1/openapi.json"} {
		app.Get(p, serveDoc)
	}
	for _, p := range []string{"/docs", "/api/v1/docs"} {
		app.Get(p, html(docsPage))
	}
	for _, p := range []string{"/redoc", "/api/v1/redoc"} {
		app.Get(p, html(redocPage))
	}
	doc = openAPI(app, publicPrefixes)
}

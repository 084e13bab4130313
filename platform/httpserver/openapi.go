package httpserver

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/identity"
)

// The OpenAPI 3 document (api.md §0.7) is built once at start from the
// routes the app serves and the operations the modules describe
// (Documented): every registered route is in it, with its parameters,
// request body, responses and error statuses, and its security from the
// same public paths the anon-key gate uses. A route registered without a
// description is listed with "x-undocumented": true, which the product's
// tests refuse.

// allMethods are the methods an operation of MethodAll is documented
// under; HEAD follows GET, CONNECT and TRACE are not documented.
var allMethods = []string{fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete, fiber.MethodOptions}

// documentedMethod reports whether a registered route belongs in the document.
func documentedMethod(m string) bool {
	return m != fiber.MethodHead && m != fiber.MethodConnect && m != fiber.MethodTrace
}

type oaParam struct {
	Name        string  `json:"name"`
	In          string  `json:"in"`
	Description string  `json:"description,omitempty"`
	Required    bool    `json:"required,omitempty"`
	Schema      *Schema `json:"schema"`
}

type oaMedia struct {
	Schema *Schema `json:"schema"`
}

type oaBody struct {
	Description string              `json:"description,omitempty"`
	Required    bool                `json:"required,omitempty"`
	Content     map[string]*oaMedia `json:"content"`
}

type oaResponse struct {
	Description string              `json:"description"`
	Content     map[string]*oaMedia `json:"content,omitempty"`
	ErrorCodes  []string            `json:"x-error-codes,omitempty"`
}

type oaOperation struct {
	Tags         []string               `json:"tags"`
	Summary      string                 `json:"summary,omitempty"`
	Description  string                 `json:"description,omitempty"`
	OperationID  string                 `json:"operationId"`
	Parameters   []oaParam              `json:"parameters,omitempty"`
	RequestBody  *oaBody                `json:"requestBody,omitempty"`
	Responses    map[string]*oaResponse `json:"responses"`
	Security     []map[string][]string  `json:"security"`
	Undocumented bool                   `json:"x-undocumented,omitempty"`
}

type oaTag struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

type routeKey struct{ method, path string }

// documenter builds the document.
type documenter struct {
	schemas *schemas
	public  []string
}

// checkAPIs refuses operations a client generator could not use.
func checkAPIs(apis []API) error {
	var bad []string
	for _, api := range apis {
		if api.Tag == "" {
			bad = append(bad, "an API without a tag")
		}
		for _, op := range api.Operations {
			switch {
			case op.Summary == "":
				bad = append(bad, op.Method+" "+op.Path+" has no summary")
			case len(op.Responses) == 0 && len(op.Errors) == 0:
				bad = append(bad, op.Method+" "+op.Path+" has no response")
			case len(op.Handlers) == 0:
				bad = append(bad, op.Method+" "+op.Path+" has no handler")
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("httpserver: operations: %s", strings.Join(bad, "; "))
	}
	return nil
}

// openAPI builds the document of the routes app serves.
func openAPI(app *fiber.App, apis []API, publicPrefixes []string) []byte {
	d := &documenter{schemas: newSchemas(), public: publicPrefixes}
	ops := map[routeKey]*Operation{}
	tagOfOp := map[*Operation]string{}
	tags := map[string]string{}
	for a := range apis {
		api := &apis[a]
		tags[api.Tag] = api.Description
		for i := range api.Operations {
			op := &api.Operations[i]
			tagOfOp[op] = api.Tag
			methods := []string{op.Method}
			if op.Method == MethodAll {
				methods = allMethods
			}
			for _, m := range methods {
				ops[routeKey{m, op.Path}] = op
			}
		}
	}
	paths := map[string]map[string]*oaOperation{}
	for _, r := range app.GetRoutes(true) {
		if !documentedMethod(r.Method) {
			continue
		}
		path, names := openAPIPath(r.Path)
		if paths[path] == nil {
			paths[path] = map[string]*oaOperation{}
		}
		var o *oaOperation
		if op := ops[routeKey{r.Method, r.Path}]; op != nil {
			o = d.operation(r.Method, r.Path, path, names, op, tagOfOp[op])
		} else {
			o = d.undocumented(r.Method, r.Path, path, names)
			if _, ok := tags[o.Tags[0]]; !ok {
				tags[o.Tags[0]] = ""
			}
		}
		paths[path][strings.ToLower(r.Method)] = o
	}
	tagList := make([]oaTag, 0, len(tags))
	for name, desc := range tags {
		tagList = append(tagList, oaTag{Name: name, Description: desc})
	}
	sort.Slice(tagList, func(i, j int) bool { return tagList[i].Name < tagList[j].Name })
	components := d.schemas.finish()
	components["Error"] = errorSchema()
	components["FieldError"] = fieldErrorSchema()
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "SelfDB API",
			"version":     "1.0.0",
			"description": apiDescription,
		},
		"tags":  tagList,
		"paths": paths,
		"components": map[string]any{
			"schemas": components,
			"securitySchemes": map[string]any{
				"apikey": map[string]any{"type": "apiKey", "in": "header", "name": "apikey",
					"description": "The project's anon key (ANON_KEY). Also accepted as the anon-key header or the ?apikey= / ?anon-key= query parameters."},
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
					"description": "An access token from POST /api/v1/auth/login."},
			},
		},
		"security": []map[string][]string{{"apikey": {}}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // every value above marshals
	}
	return b
}

const apiDescription = `Self-hosted backend: auth, users, storage, tables, SQL, functions, realtime.

**Credentials.** Every request carries the project's anon key (header ` + "`apikey`" + `, header ` + "`anon-key`" + `, or query ` + "`?apikey=`" + ` / ` + "`?anon-key=`" + `), except the public paths (docs, health probes, metrics, the storage byte routes under /files/, the WebSocket upgrade and the token refresh). Users add ` + "`Authorization: Bearer <access_token>`" + `; an invalid or expired token makes the request anonymous.

**Errors.** Every error is JSON: ` + "`{\"detail\": string | [FieldError], \"code\": string, \"message\"?: string}`" + `. ` + "`code`" + ` is stable and machine-readable; 422 validation errors carry a list of ` + "`{loc, msg, type}`" + ` in ` + "`detail`" + `.

**Bodies.** JSON bodies may carry fields the schema doesn't list: they are accepted and ignored (the SDKs send some), so a misspelt field is not an error.`

func errorSchema() *Schema {
	return &Schema{
		Type:     "object",
		Required: []string{"code", "detail"},
		Properties: map[string]*Schema{
			"detail": {Description: "What went wrong: a message, or for 422 the list of invalid fields.",
				OneOf: []*Schema{{Type: "string"}, {Type: "array", Items: &Schema{Ref: "#/components/schemas/FieldError"}}}},
			"code":    {Type: "string", Description: "Stable machine-readable error code."},
			"message": {Type: "string", Description: "The message again when detail is one (the JavaScript SDK reads message)."},
		},
		AdditionalProperties: true,
	}
}

func fieldErrorSchema() *Schema {
	return &Schema{
		Type:     "object",
		Required: []string{"loc", "msg", "type"},
		Properties: map[string]*Schema{
			"loc":  {Type: "array", Items: &Schema{OneOf: []*Schema{{Type: "string"}, {Type: "integer"}}}, Description: `Where: "body", "query", "path" or "header", then the field.`},
			"msg":  {Type: "string"},
			"type": {Type: "string", Description: "The kind of failure (missing, uuid_parsing, ...)."},
		},
	}
}

// operationID is the method and path, as identifiers go.
func operationID(method, path string) string {
	return strings.ToLower(method) + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_", ".", "_").Replace(path)
}

// security is who the document says may call: no credentials on public
// paths, the anon key elsewhere, and a Bearer token as Access asks.
func (d *documenter) security(method, path string, access Access) []map[string][]string {
	public := publicPath(method, path, d.public)
	switch {
	case public && access == NoAuth:
		return []map[string][]string{}
	case public && access == Anyone:
		return []map[string][]string{{}, {"bearer": {}}}
	case public:
		return []map[string][]string{{"bearer": {}}}
	case access == NoAuth:
		return []map[string][]string{{"apikey": {}}}
	case access == Anyone:
		return []map[string][]string{{"apikey": {}}, {"apikey": {}, "bearer": {}}}
	}
	return []map[string][]string{{"apikey": {}, "bearer": {}}}
}

func (d *documenter) undocumented(method, fiberPath, path string, names []string) *oaOperation {
	o := &oaOperation{
		Tags:        []string{tagOf(path)},
		OperationID: operationID(method, path),
		Responses: map[string]*oaResponse{
			"200":     {Description: "Success"},
			"default": d.errorResponse("Error", nil),
		},
		Security:     d.security(method, fiberPath, Anyone),
		Undocumented: true,
	}
	for _, n := range names {
		o.Parameters = append(o.Parameters, oaParam{Name: n, In: "path", Required: true, Schema: &Schema{Type: "string"}})
	}
	return o
}

func (d *documenter) operation(method, fiberPath, path string, names []string, op *Operation, tag string) *oaOperation {
	o := &oaOperation{
		Tags:        []string{tag},
		Summary:     op.Summary,
		Description: op.Description,
		OperationID: operationID(method, path),
		Responses:   map[string]*oaResponse{},
		Security:    d.security(method, fiberPath, op.Access),
	}
	// Parameters and JSON or form bodies are parsed into 422s; raw bodies
	// (uploads, function calls) are not.
	validated := false
	if op.Body != nil {
		for _, m := range op.Body.Content {
			validated = validated || m.Type == fiber.MIMEApplicationJSON || m.Type == fiber.MIMEApplicationForm
		}
	}
	described := map[string]Param{}
	for _, p := range op.Params {
		if p.In == "path" {
			described[p.Name] = p
		}
	}
	for _, n := range names {
		p, ok := described[n]
		if !ok {
			p = Param{Name: n, In: "path", Required: true, Schema: Schema{Type: "string"}}
		}
		s := d.schemas.of(p.Schema, true)
		validated = validated || s.Format == "uuid" || s.Type == "integer"
		o.Parameters = append(o.Parameters, oaParam{Name: n, In: "path", Description: p.Description, Required: true, Schema: s})
	}
	for _, p := range op.Params {
		if p.In == "path" {
			continue
		}
		validated = true
		o.Parameters = append(o.Parameters, oaParam{Name: p.Name, In: p.In, Description: p.Description, Required: p.Required, Schema: d.schemas.of(p.Schema, true)})
	}
	if op.Body != nil {
		b := &oaBody{Description: op.Body.Description, Required: !op.Body.Optional, Content: map[string]*oaMedia{}}
		for _, m := range op.Body.Content {
			b.Content[m.Type] = &oaMedia{Schema: d.schemas.body(m.Schema, m.Required)}
		}
		o.RequestBody = b
	}
	for _, r := range op.Responses {
		desc := r.Description
		if desc == "" {
			desc = http.StatusText(r.Status)
		}
		res := &oaResponse{Description: desc}
		for _, m := range r.Content {
			if res.Content == nil {
				res.Content = map[string]*oaMedia{}
			}
			res.Content[m.Type] = &oaMedia{Schema: d.schemas.of(m.Schema, false)}
		}
		o.Responses[strconv.Itoa(r.Status)] = res
	}
	var errs []*apperr.Error
	if !publicPath(method, fiberPath, d.public) {
		errs = append(errs, ErrAnonKey)
	}
	switch op.Access {
	case User:
		errs = append(errs, identity.ErrNotAuthenticated)
	case Superuser:
		errs = append(errs, identity.ErrNotAuthenticated, identity.ErrNotEnoughPrivileges)
	}
	if validated {
		errs = append(errs, apperr.Validation())
	}
	errs = append(errs, op.Errors...)
	byStatus := map[int][]*apperr.Error{}
	for _, e := range errs {
		byStatus[e.Kind.Status()] = append(byStatus[e.Kind.Status()], e)
	}
	for status, es := range byStatus {
		key := strconv.Itoa(status)
		if _, taken := o.Responses[key]; taken {
			continue // a documented answer of that status (a 200 {success:false} ...)
		}
		o.Responses[key] = d.errorResponse(http.StatusText(status), es)
	}
	o.Responses["default"] = d.errorResponse("Any other failure: 500 internal (the cause is logged, never shown), "+
		"503 database_unavailable or database_busy (with Retry-After), 413 body_too_large.", nil)
	return o
}

// errorResponse is an error answer listing its codes.
func (d *documenter) errorResponse(desc string, es []*apperr.Error) *oaResponse {
	r := &oaResponse{Content: map[string]*oaMedia{
		fiber.MIMEApplicationJSON: {Schema: &Schema{Ref: "#/components/schemas/Error"}},
	}}
	seen := map[string]bool{}
	var lines []string
	for _, e := range es {
		if seen[e.Code] {
			continue
		}
		seen[e.Code] = true
		r.ErrorCodes = append(r.ErrorCodes, e.Code)
		lines = append(lines, "`"+e.Code+"`: "+e.Message)
	}
	if len(lines) > 0 {
		desc += ". " + strings.Join(lines, "; ")
	}
	r.Description = desc
	return r
}

// openAPIPath turns /users/:user_id into /users/{user_id}, and a wildcard
// into {path}; it returns the parameter names in order.
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
	return strings.Join(segs, "/"), params
}

// tagOf groups an undocumented route by its path.
func tagOf(path string) string {
	rest := strings.TrimPrefix(path, "/api/v1/")
	if rest == path {
		if strings.HasPrefix(path, "/files/") {
			return "files"
		}
		return "health"
	}
	tag, _, _ := strings.Cut(rest, "/")
	return tag
}

// docsUI holds the Swagger UI and ReDoc assets (docsui/README.md), served
// under docsAssets so that the pages need no internet.
//
//go:embed docsui
var docsUI embed.FS

// docsAssets is where the pages load their assets from (public: /static/).
const docsAssets = "/static/docs"

const docsPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SelfDB API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="` + docsAssets + `/swagger-ui/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="` + docsAssets + `/swagger-ui/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#ui", validatorUrl: null, deepLinking: true, persistAuthorization: true});</script>
</body></html>`

const redocPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SelfDB API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="/api/v1/openapi.json"></redoc>
<script src="` + docsAssets + `/redoc/redoc.standalone.js"></script>
</body></html>`

// serverAPI is the server's own routes: the document, the pages and
// /metrics (when enabled).
func serverAPI(metrics fiber.Handler, doc *[]byte) API {
	html := func(page string) fiber.Handler {
		return func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
			return c.SendString(page)
		}
	}
	serveDoc := func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		return c.Send(*doc)
	}
	page := func(desc string) []Response {
		return []Response{{Status: http.StatusOK, Description: desc, Content: []Media{{Type: fiber.MIMETextHTML, Schema: Schema{Type: "string"}}}}}
	}
	api := API{Tag: "server", Description: "The API's own description and the server's metrics."}
	for _, prefix := range []string{"", "/api/v1"} {
		api.Operations = append(api.Operations,
			Operation{Method: fiber.MethodGet, Path: prefix + "/openapi.json", Summary: "This OpenAPI document",
				Responses: []Response{OK(Schema{Type: "object", Description: "An OpenAPI 3.0 document."})}, Handlers: H(serveDoc)},
			Operation{Method: fiber.MethodGet, Path: prefix + "/docs", Summary: "Interactive API docs (Swagger UI)",
				Responses: page("An HTML page; its assets are served from the binary."), Handlers: H(html(docsPage))},
			Operation{Method: fiber.MethodGet, Path: prefix + "/redoc", Summary: "API reference (ReDoc)",
				Responses: page("An HTML page; its assets are served from the binary."), Handlers: H(html(redocPage))},
		)
	}
	if metrics != nil {
		api.Operations = append(api.Operations, Operation{Method: fiber.MethodGet, Path: "/metrics", Summary: "Prometheus metrics",
			Description: "Present when METRICS_ENABLED is true.",
			Responses:   []Response{{Status: http.StatusOK, Content: []Media{{Type: "text/plain", Schema: Schema{Type: "string"}}}}},
			Handlers:    H(metrics)})
	}
	return api
}

// registerDocs mounts the server's own routes and the docs assets, then
// builds the document once every module has registered its routes.
func registerDocs(app *fiber.App, apis []API, publicPrefixes []string, metrics fiber.Handler) {
	var doc []byte
	own := serverAPI(metrics, &doc)
	Mount(app, own)
	assets, err := fs.Sub(docsUI, "docsui")
	if err != nil {
		panic(err) // the embedded folder is there at build time
	}
	app.Use(docsAssets, filesystem.New(filesystem.Config{Root: http.FS(assets), MaxAge: 86400}))
	doc = openAPI(app, append(apis, own), publicPrefixes)
}

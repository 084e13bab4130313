package httpserver

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/identity"
)

// Documented is implemented by Routes that describe their routes. Each
// module lists its operations in routes.go and registers exactly those
// (Register calls Mount with the same API), so the OpenAPI document names
// every route with the DTO types its handlers use and cannot drift from
// what the server serves.
type Documented interface {
	API() API
}

// API is one module's routes: its tag in the OpenAPI document and its
// operations.
type API struct {
	// Tag groups the module's operations in the document (one per module).
	Tag         string
	Description string
	Operations  []Operation
}

// MethodAll registers an operation for every method (fiber's All).
const MethodAll = "ALL"

// Access is who may call an operation. Mount puts the matching guard in
// front of the handlers; the document derives each operation's security
// from it and from the public paths (Public).
type Access uint8

// The access levels.
const (
	// NoAuth: the caller's identity is not used (health, token refresh,
	// byte routes authorized by a signature).
	NoAuth Access = iota
	// Anyone: anon or a user; a Bearer token changes what the caller may
	// see or do (the service decides per resource).
	Anyone
	// User needs a signed-in user (identity.RequireUser).
	User
	// Superuser needs a superuser (identity.RequireSuperuser).
	Superuser
)

// Operation is one route: what Mount registers and what the OpenAPI
// document says about it. Schemas are Go values (a DTO's zero value, a
// slice of one, ...) whose types are reflected, or a Schema used as it is.
type Operation struct {
	// Method is a fiber.Method* constant or MethodAll. A GET also answers HEAD.
	Method string
	// Path in Fiber's syntax (/api/v1/buckets/:bucket_id); its parameters
	// are string path parameters unless Params describes them.
	Path        string
	Summary     string
	Description string
	Access      Access
	// Params are the query, header and (to give them a type) path parameters.
	Params []Param
	Body   *Body
	// Responses are the answers other than errors (a route that only
	// refuses, such as a catch-all for malformed paths, has none).
	Responses []Response
	// Errors are the module errors the operation returns; the statuses of
	// the anon key, Access and validation are added to the document.
	Errors   []*apperr.Error
	Handlers []fiber.Handler
}

// Param is a query, header or path parameter.
type Param struct {
	Name        string
	In          string // "query", "path" or "header"
	Description string
	Required    bool
	Schema      any
}

// InQuery describes an optional query parameter.
func InQuery(name string, schema any, description string) Param {
	return Param{Name: name, In: "query", Schema: schema, Description: description}
}

// InPath describes a path parameter (always required).
func InPath(name string, schema any, description string) Param {
	return Param{Name: name, In: "path", Schema: schema, Description: description, Required: true}
}

// PageParams are skip (alias offset) and limit, as Page reads them.
func PageParams(maxLimit int) []Param {
	return []Param{
		InQuery("skip", IntRange(0, 0, -1), "Rows to skip."),
		InQuery("offset", IntRange(0, 0, -1), "Alias of skip (used when skip is absent)."),
		InQuery("limit", IntRange(100, 1, maxLimit), "Rows per page."),
	}
}

// IntRange is an integer schema with a default and bounds (hi < 0: none).
func IntRange(def, lo, hi int) Schema {
	s := Schema{Type: "integer", Default: def, Minimum: float(lo)}
	if hi >= 0 {
		s.Maximum = float(hi)
	}
	return s
}

func float(n int) *float64 { f := float64(n); return &f }

// Body is a request body: one schema per accepted media type.
type Body struct {
	Description string
	// Optional marks a body that may be left out.
	Optional bool
	Content  []Media
}

// Media is one accepted or returned representation.
type Media struct {
	Type   string
	Schema any
	// Required lists the top-level fields a request body must carry.
	Required []string
}

// JSON is a required JSON body of v's type, with the fields it must carry.
func JSON(v any, required ...string) *Body {
	return &Body{Content: []Media{{Type: fiber.MIMEApplicationJSON, Schema: v, Required: required}}}
}

// Response is one non-error answer.
type Response struct {
	Status      int
	Description string
	// Content is empty for a response without a body (204, 304).
	Content []Media
}

// OK is a 200 with a JSON body of v's type.
func OK(v any) Response { return respond(http.StatusOK, v) }

// Created is a 201 with a JSON body of v's type.
func Created(v any) Response { return respond(http.StatusCreated, v) }

// NoContent is a 204.
func NoContent() Response { return Response{Status: http.StatusNoContent} }

func respond(status int, v any) Response {
	return Response{Status: status, Content: []Media{{Type: fiber.MIMEApplicationJSON, Schema: v}}}
}

// Described returns r with a description.
func (r Response) Described(d string) Response { r.Description = d; return r }

// H lists handlers (the end of an Operation literal reads better with it).
func H(hs ...fiber.Handler) []fiber.Handler { return hs }

// Mount registers an API's operations on the root router, each behind the
// guard its Access names.
func Mount(r fiber.Router, api API) {
	for _, op := range api.Operations {
		hs := op.Handlers
		switch op.Access {
		case User:
			hs = append([]fiber.Handler{identity.RequireUser}, hs...)
		case Superuser:
			hs = append([]fiber.Handler{identity.RequireSuperuser}, hs...)
		}
		switch op.Method {
		case fiber.MethodGet:
			r.Get(op.Path, hs...)
		case MethodAll:
			r.All(op.Path, hs...)
		default:
			r.Add(op.Method, op.Path, hs...)
		}
	}
}

package functions

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// InvokePrefix is where the JS SDK calls functions; request bodies under it
// are streamed to the function, not buffered.
const InvokePrefix = "/api/v1/functions/invoke/"

// Routes mounts /api/v1/functions.
type Routes struct {
	h *Handler
}

var (
	_ httpserver.Routes     = (*Routes)(nil)
	_ httpserver.Streamer   = (*Routes)(nil)
	_ httpserver.Documented = (*Routes)(nil)
)

// NewRoutes builds the routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// StreamPrefixes exempts invocations from the buffered body limit.
func (r *Routes) StreamPrefixes() []string { return []string{InvokePrefix} }

// Register adds the routes of api.md §9: management for superusers, and the
// invocation routes, whose policy each function sets.
func (r *Routes) Register(app fiber.Router) { httpserver.Mount(app, r.API()) }

// API describes the routes of api.md §9.
func (r *Routes) API() httpserver.API {
	const base = "/api/v1/functions"
	get, post, put, del := fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodDelete
	su := httpserver.Superuser
	fnID := httpserver.InPath("function_id", uuid.UUID{}, "The function's id.")
	envID := httpserver.InPath("env_id", uuid.UUID{}, "The variable's id.")
	notFound := []*apperr.Error{ErrNotFound}
	one := []httpserver.Response{httpserver.OK(Out{})}
	runFailed := httpserver.Schema{Type: "object", Properties: map[string]*httpserver.Schema{
		"error": {Type: "string"}, "message": {Type: "string"}}}
	invoke := func(path, summary string, params ...httpserver.Param) httpserver.Operation {
		return httpserver.Operation{Method: httpserver.MethodAll, Path: path, Summary: summary, Access: httpserver.Anyone,
			Description: "Runs the function with the request as sent (streamed body) and answers what it returns (a non-Response value as JSON). " +
				"Who may call: the function's invoke_policy (public, authenticated, superuser); which methods: its http triggers. " +
				"A timeout answers 504 {\"error\":\"Function execution timed out\"}; a thrown error 500 {\"error\",\"message\"}.",
			Params: append([]httpserver.Param{httpserver.InPath("name", "", "The function's name.")}, params...),
			Body:   &httpserver.Body{Optional: true, Content: []httpserver.Media{{Type: "*/*", Schema: httpserver.AnyValue}}},
			Responses: []httpserver.Response{
				{Status: fiber.StatusOK, Description: "The function's response (status, headers and body are the function's).",
					Content: []httpserver.Media{{Type: "*/*", Schema: httpserver.AnyValue}}},
				{Status: fiber.StatusInternalServerError, Description: "The function threw.",
					Content: []httpserver.Media{{Type: fiber.MIMEApplicationJSON, Schema: runFailed}}},
				{Status: fiber.StatusGatewayTimeout, Description: "The function ran past its timeout_ms.",
					Content: []httpserver.Media{{Type: fiber.MIMEApplicationJSON, Schema: runFailed}}},
			},
			Errors: []*apperr.Error{ErrNotFound, ErrNotInvocable, ErrMethodNotAllowed, ErrUnavailable,
				identity.ErrNotAuthenticated, identity.ErrNotEnoughPrivileges},
			Handlers: httpserver.H(r.h.invoke)}
	}
	byName := invoke(base+"/:function_id", "Invoke a function by name (Python SDK)")
	byName.Method, byName.Handlers = post, httpserver.H(r.h.invokeByName)
	byName.Params = []httpserver.Param{httpserver.InPath("function_id", "", "The function's name (this POST only; a UUID answers 405).")}
	byName.Errors = append(byName.Errors, httpserver.ErrMethodNotAllowed)
	return httpserver.API{Tag: "functions", Description: "Server-side TypeScript functions on a Deno runtime: management (superuser) and invocation (api.md §9).", Operations: []httpserver.Operation{
		{Method: get, Path: base, Summary: "List functions", Access: su, Params: httpserver.PageParams(MaxLimit),
			Responses: []httpserver.Response{httpserver.OK([]Out{})}, Handlers: httpserver.H(r.h.list)},
		{Method: post, Path: base, Summary: "Create a function", Access: su,
			Description: "code is TypeScript/JavaScript exporting a default async handler(req, ctx); it is compiled first (400 function_code_invalid with line and column). " +
				"Name: ^[a-z0-9][a-z0-9-_]{0,62}$. The JS SDK's trigger_type, trigger_config and environment_variables are read too.",
			Body:      httpserver.JSON(CreateRequest{}, "name", "code"),
			Responses: []httpserver.Response{httpserver.Created(Out{})},
			Errors:    []*apperr.Error{ErrExists, ErrInvalidName, ErrCodeInvalid, ErrInvalidTrigger, ErrInvalidTimeout, ErrInvalidPolicy},
			Handlers:  httpserver.H(r.h.create)},
		{Method: get, Path: base + "/templates/:type", Summary: "A trigger type's starting code", Access: su,
			Params:    []httpserver.Param{httpserver.InPath("type", "", "http, schedule, database, event or once.")},
			Responses: []httpserver.Response{httpserver.OK("").Described("The TypeScript template, as a JSON string.")},
			Errors:    []*apperr.Error{ErrTemplateNotFound}, Handlers: httpserver.H(r.h.template)},
		{Method: post, Path: base + "/events/:event", Summary: "Emit a named event", Access: su,
			Description: "Every active function with a matching event trigger runs in the background with the body as payload.",
			Params:      []httpserver.Param{httpserver.InPath("event", "", "The event's name.")},
			Body:        &httpserver.Body{Optional: true, Content: []httpserver.Media{{Type: fiber.MIMEApplicationJSON, Schema: httpserver.AnyValue}}},
			Responses:   []httpserver.Response{{Status: fiber.StatusAccepted, Content: []httpserver.Media{{Type: fiber.MIMEApplicationJSON, Schema: EventOut{}}}}},
			Errors:      []*apperr.Error{ErrInvalidTrigger}, Handlers: httpserver.H(r.h.emit)},
		invoke(base+"/invoke/:name", "Invoke a function"),
		invoke(base+"/invoke/:name/*", "Invoke a function (with a sub-path)", httpserver.InPath("path", "", "The rest of the path, passed to the function.")),
		byName,
		{Method: get, Path: base + "/:function_id", Summary: "Read a function", Access: su, Params: []httpserver.Param{fnID},
			Responses: one, Errors: notFound, Handlers: httpserver.H(r.h.get)},
		{Method: put, Path: base + "/:function_id", Summary: "Update a function", Access: su,
			Description: "A code change adds a version and increments version_number.",
			Params:      []httpserver.Param{fnID}, Body: httpserver.JSON(UpdateRequest{}), Responses: one,
			Errors:   []*apperr.Error{ErrNotFound, ErrExists, ErrInvalidName, ErrCodeInvalid, ErrInvalidTrigger, ErrInvalidTimeout, ErrInvalidPolicy},
			Handlers: httpserver.H(r.h.update)},
		{Method: del, Path: base + "/:function_id", Summary: "Delete a function", Access: su, Params: []httpserver.Param{fnID},
			Responses: []httpserver.Response{httpserver.NoContent()}, Errors: notFound, Handlers: httpserver.H(r.h.delete)},
		{Method: get, Path: base + "/:function_id/versions", Summary: "A function's versions", Description: "Newest first.",
			Access: su, Params: []httpserver.Param{fnID}, Responses: []httpserver.Response{httpserver.OK([]VersionOut{})},
			Errors: notFound, Handlers: httpserver.H(r.h.versions)},
		{Method: post, Path: base + "/:function_id/versions/:n/restore", Summary: "Restore a version's code", Access: su,
			Params: []httpserver.Param{fnID, httpserver.InPath("n", 0, "The version number.")}, Responses: one,
			Errors: []*apperr.Error{ErrNotFound, ErrVersionNotFound}, Handlers: httpserver.H(r.h.restore)},
		{Method: get, Path: base + "/:function_id/env", Summary: "A function's environment variables", Description: "Secret values read as ********.",
			Access: su, Params: []httpserver.Param{fnID}, Responses: []httpserver.Response{httpserver.OK([]EnvOut{})},
			Errors: notFound, Handlers: httpserver.H(r.h.env)},
		{Method: post, Path: base + "/:function_id/env", Summary: "Add an environment variable", Access: su,
			Description: "is_secret defaults to true.",
			Params:      []httpserver.Param{fnID}, Body: httpserver.JSON(EnvRequest{}, "key", "value"),
			Responses: []httpserver.Response{httpserver.Created(EnvOut{})},
			Errors:    []*apperr.Error{ErrNotFound, ErrEnvExists, ErrInvalidEnvKey}, Handlers: httpserver.H(r.h.createEnv)},
		{Method: put, Path: base + "/:function_id/env/:env_id", Summary: "Change an environment variable", Access: su,
			Description: "A secret's masked value sent back unchanged keeps the stored value.",
			Params:      []httpserver.Param{fnID, envID}, Body: httpserver.JSON(EnvRequest{}),
			Responses: []httpserver.Response{httpserver.OK(EnvOut{})},
			Errors:    []*apperr.Error{ErrNotFound, ErrEnvNotFound, ErrEnvExists, ErrInvalidEnvKey}, Handlers: httpserver.H(r.h.updateEnv)},
		{Method: del, Path: base + "/:function_id/env/:env_id", Summary: "Delete an environment variable", Access: su,
			Params: []httpserver.Param{fnID, envID}, Responses: []httpserver.Response{httpserver.NoContent()},
			Errors: []*apperr.Error{ErrNotFound, ErrEnvNotFound}, Handlers: httpserver.H(r.h.deleteEnv)},
		{Method: get, Path: base + "/:function_id/logs", Summary: "A function's recent runs", Access: su,
			Params:    []httpserver.Param{fnID, httpserver.InQuery("limit", httpserver.IntRange(50, 1, 500), "Runs to return, newest first.")},
			Responses: []httpserver.Response{httpserver.OK([]RunOut{})}, Errors: notFound, Handlers: httpserver.H(r.h.logs)},
	}}
}

package sqlconsole

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/httpserver"
)

// Routes registers /api/v1/sql (superuser only).
type Routes struct {
	h *Handler
}

var (
	_ httpserver.Routes     = (*Routes)(nil)
	_ httpserver.Documented = (*Routes)(nil)
)

// NewRoutes builds the routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// Register adds the SQL routes, each behind RequireSuperuser.
func (r *Routes) Register(app fiber.Router) { httpserver.Mount(app, r.API()) }

// API describes the routes of api.md §7.
func (r *Routes) API() httpserver.API {
	const base = "/api/v1/sql"
	su := httpserver.Superuser
	snippetID := httpserver.InPath("id", uuid.UUID{}, "The snippet's id.")
	return httpserver.API{Tag: "sql", Description: "The superuser SQL console: run scripts, saved snippets, history (api.md §7).", Operations: []httpserver.Operation{
		{Method: fiber.MethodPost, Path: base + "/query", Summary: "Run SQL", Access: su,
			Description: "Statements run in one transaction, all or nothing, each bounded by SQL_STATEMENT_TIMEOUT; results are capped at SQL_ROW_CAP rows (truncated: true). " +
				"params bind $1.. of a single statement; read_only runs a read-only transaction. A failing script answers 200 with success: false.",
			Body:      httpserver.JSON(QueryIn{}, "query"),
			Responses: []httpserver.Response{httpserver.OK(httpserver.OneOf(RunResult{}, QueryFailed{}))},
			Errors:    []*apperr.Error{db.ErrBusy}, Handlers: httpserver.H(r.h.Query)},
		{Method: fiber.MethodGet, Path: base + "/snippets", Summary: "List snippets", Description: "The caller's own and shared ones, newest first.",
			Access: su, Responses: []httpserver.Response{httpserver.OK([]Snippet{})}, Handlers: httpserver.H(r.h.Snippets)},
		{Method: fiber.MethodPost, Path: base + "/snippets", Summary: "Save a snippet", Access: su,
			Body: httpserver.JSON(SnippetIn{}, "name", "sql_code"), Responses: []httpserver.Response{httpserver.OK(Snippet{})},
			Handlers: httpserver.H(r.h.AddSnippet)},
		{Method: fiber.MethodPut, Path: base + "/snippets/:id", Summary: "Update a snippet", Access: su, Description: "The owner's only.",
			Params: []httpserver.Param{snippetID}, Body: httpserver.JSON(SnippetPatch{}),
			Responses: []httpserver.Response{httpserver.OK(Snippet{})}, Errors: []*apperr.Error{ErrSnippetNotFound},
			Handlers: httpserver.H(r.h.UpdateSnippet)},
		{Method: fiber.MethodDelete, Path: base + "/snippets/:id", Summary: "Delete a snippet", Access: su, Description: "The owner's only.",
			Params: []httpserver.Param{snippetID}, Responses: []httpserver.Response{httpserver.OK(SnippetDeleted{})},
			Errors: []*apperr.Error{ErrSnippetNotFoundDelete}, Handlers: httpserver.H(r.h.DeleteSnippet)},
		{Method: fiber.MethodGet, Path: base + "/history", Summary: "The caller's query history", Access: su,
			Params: []httpserver.Param{
				httpserver.InQuery("page", httpserver.IntRange(1, 1, 1<<30), "Page number."),
				httpserver.InQuery("page_size", httpserver.IntRange(20, 1, 100), "Entries per page."),
			},
			Responses: []httpserver.Response{httpserver.OK(HistoryPage{})}, Handlers: httpserver.H(r.h.History)},
		{Method: fiber.MethodPost, Path: base + "/history", Summary: "Record a query in the history", Access: su,
			Description: "For clients that record history themselves. A report matching a run the server recorded for the caller within the last minute returns that entry instead of adding a twin.",
			Body:        httpserver.JSON(HistoryIn{}, "query"), Responses: []httpserver.Response{httpserver.OK(HistoryEntry{})},
			Handlers: httpserver.H(r.h.AddHistory)},
	}}
}

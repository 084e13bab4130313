package tables

import (
	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// Routes registers /api/v1/tables.
type Routes struct {
	h *Handler
}

var (
	_ httpserver.Routes     = (*Routes)(nil)
	_ httpserver.Documented = (*Routes)(nil)
)

// NewRoutes builds the routes.
func NewRoutes(h *Handler) *Routes { return &Routes{h: h} }

// Register adds the tables routes.
func (r *Routes) Register(app fiber.Router) { httpserver.Mount(app, r.API()) }

// API describes the routes of api.md §6. Row and read routes check the
// table's policy in the service; DDL is superuser-only.
func (r *Routes) API() httpserver.API {
	const base = "/api/v1/tables"
	get, post, put, del := fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodDelete
	anyone, su := httpserver.Anyone, httpserver.Superuser
	table := httpserver.InPath("table", "", "The table's name.")
	column := httpserver.InPath("column", "", "The column's name.")
	rowID := httpserver.InPath("id", "", "The row's value in id_column.")
	idColumn := httpserver.Param{Name: "id_column", In: "query", Required: true, Schema: "", Description: "The column that identifies the row (usually the primary key)."}
	row := map[string]any{}
	policyErrs := []*apperr.Error{ErrTableNotFound, identity.ErrNotAuthenticated, identity.ErrNotEnoughPrivileges}
	return httpserver.API{Tag: "tables", Description: "The users' own tables: rows under each table's access policy, DDL for superusers, and the schema (api.md §6, §8).", Operations: []httpserver.Operation{
		{Method: get, Path: base, Summary: "List the tables the caller can read", Access: anyone,
			Responses: []httpserver.Response{httpserver.OK([]TableSummary{})}, Handlers: httpserver.H(r.h.List)},
		{Method: post, Path: base, Summary: "Create a table", Access: su,
			Description: "Identifiers match ^[A-Za-z_][A-Za-z0-9_]{0,62}$; types come from an allow-list. " +
				"access (read, insert, update, delete: public | authenticated | owner | superuser) and owner_column set the policy; " +
				"by default read and insert are authenticated, update and delete owner with an owner column, else superuser. " +
				"The answer carries the effective policy.",
			Body: httpserver.JSON(CreateTableIn{}, "name", "columns"),
			Responses: []httpserver.Response{{Status: fiber.StatusCreated, Description: "Created, or already there with if_not_exists (created: false).",
				Content: []httpserver.Media{{Type: fiber.MIMEApplicationJSON, Schema: httpserver.OneOf(TableCreated{}, TableExisted{})}}}},
			Errors: []*apperr.Error{ErrTableExists, ErrInvalidIdentifier, ErrInvalidType, ErrInvalidDefault, ErrInvalidTable,
				ErrUnknownColumn, ErrBadPolicy}, Handlers: httpserver.H(r.h.Create)},
		{Method: get, Path: base + "/:table", Summary: "Describe a table", Access: anyone,
			Description: "Columns, keys, indexes, row count (an estimate from 100,000 rows) and the effective policy. For the table's readers.",
			Params:      []httpserver.Param{table}, Responses: []httpserver.Response{httpserver.OK(TableDetail{})},
			Errors: policyErrs, Handlers: httpserver.H(r.h.Get)},
		{Method: put, Path: base + "/:table", Summary: "Rename a table, or change its description or policy", Access: su,
			Params: []httpserver.Param{table}, Body: httpserver.JSON(UpdateTableIn{}),
			Responses: []httpserver.Response{httpserver.OK(httpserver.OneOf(TableUpdated{}, Message{}))},
			Errors:    []*apperr.Error{ErrTableNotFound, ErrTableExists, ErrInvalidIdentifier, ErrBadPolicy, ErrUnknownColumn},
			Handlers:  httpserver.H(r.h.UpdateTable)},
		{Method: del, Path: base + "/:table", Summary: "Drop a table", Access: su, Params: []httpserver.Param{table},
			Responses: []httpserver.Response{httpserver.OK(Message{})}, Errors: []*apperr.Error{ErrTableNotFound, db.ErrHasDependents},
			Handlers: httpserver.H(r.h.Drop)},
		{Method: get, Path: base + "/:table/structure", Summary: "A table's columns", Access: anyone, Params: []httpserver.Param{table},
			Responses: []httpserver.Response{httpserver.OK([]ColumnOut{})}, Errors: policyErrs, Handlers: httpserver.H(r.h.Structure)},
		{Method: get, Path: base + "/:table/sql", Summary: "A table's CREATE TABLE statement", Access: su, Params: []httpserver.Param{table},
			Responses: []httpserver.Response{httpserver.OK(TableSQL{})}, Errors: []*apperr.Error{ErrTableNotFound}, Handlers: httpserver.H(r.h.CreateSQL)},
		{Method: get, Path: base + "/:table/data", Summary: "Read rows", Access: anyone,
			Description: "Rows the read policy lets the caller see (owner tables: own rows). Filters: any column as a query parameter, " +
				"PostgREST style: ?col=op.value with eq, neq, gt, gte, lt, lte, like, ilike, is, in (?id=in.(1,2)). " +
				"Paging by page, or by cursor: pass metadata.next_cursor as ?cursor= with the same order_by, select and filters. " +
				"Prefer: count=exact|planned|estimated|none is read like ?count=.",
			Params: []httpserver.Param{table,
				httpserver.InQuery("page", httpserver.IntRange(1, 1, 1<<30), "Page number (not with cursor)."),
				httpserver.InQuery("page_size", httpserver.IntRange(50, 1, 1000), "Rows per page."),
				httpserver.InQuery("order_by", "", "col, col:asc|desc or col asc|desc, comma-separated; the primary key breaks ties."),
				httpserver.InQuery("select", "", "Columns to return, comma-separated."),
				httpserver.InQuery("filter_column", "", "With filter_value: a case-insensitive substring match on the column as text."),
				httpserver.InQuery("filter_value", "", "See filter_column."),
				httpserver.InQuery("cursor", "", "The next_cursor of the previous page."),
				httpserver.InQuery("count", httpserver.Schema{Type: "string", Enum: []any{"exact", "planned", "estimated", "none"}},
					"How total_count is computed (none: null)."),
			},
			Responses: []httpserver.Response{httpserver.OK(DataPage{})},
			Errors:    append(policyErrs, ErrUnknownColumn, ErrBadFilter, ErrBadOrder, ErrBadSelect, ErrInvalidCursor, db.ErrInvalidValue),
			Handlers:  httpserver.H(r.h.Data)},
		{Method: post, Path: base + "/:table/data", Summary: "Insert rows", Access: anyone,
			Description: "One object (column → value), or an array of them inserted all or nothing; answers the row(s) as stored. " +
				"Values are coerced to the column types; the owner column is set to the caller.",
			Params: []httpserver.Param{table},
			Body:   &httpserver.Body{Content: []httpserver.Media{{Type: fiber.MIMEApplicationJSON, Schema: httpserver.OneOf(row, []map[string]any{})}}},
			Responses: []httpserver.Response{httpserver.OK(httpserver.OneOf(row, []map[string]any{})).
				Described("The inserted row, or the rows for an array.")},
			Errors: append(policyErrs, ErrUnknownColumn, db.ErrInvalidValue, ErrTooManyRows, db.ErrUniqueViolation,
				db.ErrForeignKeyViolation, db.ErrNotNullViolation), Handlers: httpserver.H(r.h.Insert)},
		{Method: put, Path: base + "/:table/data/:id", Summary: "Update a row", Access: anyone,
			Description: "Under the update policy; answers the updated row.",
			Params:      []httpserver.Param{table, rowID, idColumn}, Body: httpserver.JSON(row),
			Responses: []httpserver.Response{httpserver.OK(row)},
			Errors: append(policyErrs, ErrRowNotFound, ErrEmptyBody, ErrUnknownColumn, ErrInvalidIdentifier, db.ErrInvalidValue,
				db.ErrUniqueViolation), Handlers: httpserver.H(r.h.UpdateRow)},
		{Method: del, Path: base + "/:table/data/:id", Summary: "Delete a row", Access: anyone,
			Description: "Under the delete policy; answers the deleted row.",
			Params:      []httpserver.Param{table, rowID, idColumn}, Responses: []httpserver.Response{httpserver.OK(RowDeleted{})},
			Errors: append(policyErrs, ErrRowNotFound, ErrUnknownColumn, ErrInvalidIdentifier), Handlers: httpserver.H(r.h.DeleteRow)},
		{Method: post, Path: base + "/:table/columns", Summary: "Add a column", Access: su, Params: []httpserver.Param{table},
			Body:      httpserver.JSON(AddColumnIn{}, "column_name", "data_type"),
			Responses: []httpserver.Response{httpserver.OK(ColumnAdded{})},
			Errors:    []*apperr.Error{ErrTableNotFound, ErrColumnExists, ErrInvalidIdentifier, ErrInvalidType, ErrInvalidDefault},
			Handlers:  httpserver.H(r.h.AddColumn)},
		{Method: put, Path: base + "/:table/columns/:column", Summary: "Change a column", Access: su,
			Description: "Type, nullability, default, description, or new_name.",
			Params:      []httpserver.Param{table, column}, Body: httpserver.JSON(UpdateColumnIn{}),
			Responses: []httpserver.Response{httpserver.OK(ColumnChanged{})},
			Errors:    []*apperr.Error{ErrTableNotFound, ErrUnknownColumn, ErrInvalidIdentifier, ErrInvalidType, ErrInvalidDefault},
			Handlers:  httpserver.H(r.h.UpdateColumn)},
		{Method: del, Path: base + "/:table/columns/:column", Summary: "Drop a column", Access: su,
			Params: []httpserver.Param{table, column}, Responses: []httpserver.Response{httpserver.OK(ColumnChanged{})},
			Errors:   []*apperr.Error{ErrTableNotFound, ErrUnknownColumn, ErrColumnInPrimaryKey, ErrBadPolicy},
			Handlers: httpserver.H(r.h.DropColumn)},
	}}
}

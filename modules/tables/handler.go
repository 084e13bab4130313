package tables

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// Handler turns requests into service calls.
type Handler struct {
	svc *Service
}

// NewHandler builds the handler.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc} }

// reservedParams are the query parameters of GET /{t}/data that are not filters.
var reservedParams = map[string]bool{
	"page": true, "page_size": true, "order_by": true, "filter_column": true, "filter_value": true,
	"select": true, "apikey": true, "anon-key": true,
}

// optionParams are options added later (EXT) whose names a table's columns
// may already use: a value shaped like a filter (op.value) is one.
var optionParams = map[string]bool{"count": true, "cursor": true}

// filterShaped reports whether v reads as op.value with a known operator.
func filterShaped(v string) bool {
	op, _, found := strings.Cut(v, ".")
	if !found {
		return false
	}
	switch Op(strings.ToLower(op)) {
	case OpEq, OpNeq, OpGt, OpGte, OpLt, OpLte, OpLike, OpIlike, OpIs, OpIn:
		return true
	}
	return false
}

// countOption reads ?count= (which wins) or PostgREST's Prefer: count=.
// fromPrefer says the header chose it (for Preference-Applied).
func countOption(c *fiber.Ctx) (mode CountMode, fromPrefer bool, err error) {
	if raw := c.Query("count"); raw != "" && !filterShaped(raw) {
		m, ok := ParseCountMode(raw)
		if !ok {
			return "", false, apperr.Validation(apperr.Field("query", "count", "Input should be 'exact', 'planned', 'estimated' or 'none'", "enum"))
		}
		return m, false, nil
	}
	for _, pref := range strings.FieldsFunc(c.Get("Prefer"), func(r rune) bool { return r == ',' || r == ';' }) {
		k, v, _ := strings.Cut(strings.TrimSpace(pref), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "count") {
			continue
		}
		m, ok := ParseCountMode(v)
		if !ok {
			return "", false, apperr.Validation(apperr.Field("header", "prefer", "count should be 'exact', 'planned', 'estimated' or 'none'", "enum"))
		}
		return m, true, nil
	}
	return CountDefault, false, nil
}

// pathParam is a decoded copy of a path parameter (Fiber's strings point
// into a buffer that is reused after the request).
func pathParam(c *fiber.Ctx, name string) string {
	raw := c.Params(name)
	if s, err := url.PathUnescape(raw); err == nil {
		return strings.Clone(s)
	}
	return strings.Clone(raw)
}

func (h *Handler) caller(c *fiber.Ctx) (*identity.Principal, error) { return identity.From(c) }

// List is GET /tables.
func (h *Handler) List(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	out, err := h.svc.List(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// Get is GET /tables/{t}.
func (h *Handler) Get(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	out, err := h.svc.Get(c.UserContext(), p, pathParam(c, "table"))
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// Structure is GET /tables/{t}/structure.
func (h *Handler) Structure(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	out, err := h.svc.Structure(c.UserContext(), p, pathParam(c, "table"))
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// parseListParams reads GET /{t}/data's query.
func parseListParams(c *fiber.Ctx) (ListParams, error) {
	var lp ListParams
	var err error
	if lp.Page, err = httpserver.QueryInt(c, "page", 1, 1, 1<<30); err != nil {
		return lp, err
	}
	lp.PageSet = c.Query("page") != ""
	if lp.PageSize, err = httpserver.QueryInt(c, "page_size", 50, 1, 1000); err != nil {
		return lp, err
	}
	if cur := c.Query("cursor"); !filterShaped(cur) {
		lp.Cursor = strings.Clone(cur)
	}
	if ob := c.Query("order_by"); ob != "" {
		if lp.Order, err = ParseOrderBy(ob); err != nil {
			return lp, err
		}
	}
	if lp.Select, err = ParseSelect(c.Query("select")); err != nil {
		return lp, err
	}
	if fc := c.Query("filter_column"); fc != "" {
		if !ValidIdent(fc) {
			return lp, errBadFilterf("Invalid filter_column '%s'", fc)
		}
		lp.SearchColumn, lp.SearchValue = fc, c.Query("filter_value")
	}
	var ferr error
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		key := string(k)
		if ferr != nil || reservedParams[key] || optionParams[key] && !filterShaped(string(v)) {
			return
		}
		f, err := ParseFilter(key, string(v))
		if err != nil {
			ferr = err
			return
		}
		lp.Filters = append(lp.Filters, f)
	})
	return lp, ferr
}

// Data is GET /tables/{t}/data.
func (h *Handler) Data(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	lp, err := parseListParams(c)
	if err != nil {
		return err
	}
	var fromPrefer bool
	if lp.Count, fromPrefer, err = countOption(c); err != nil {
		return err
	}
	out, err := h.svc.Data(c.UserContext(), p, pathParam(c, "table"), lp)
	if err != nil {
		return err
	}
	if fromPrefer {
		c.Set("Preference-Applied", "count="+string(lp.Count))
	}
	return sendPage(c, out)
}

// sendPage writes a DataPage without re-encoding its rows: they are JSON
// already (Postgres' json_agg), and encoding/json would scan and copy them
// once more.
func sendPage(c *fiber.Ctx, p *DataPage) error {
	meta, err := json.Marshal(p.Metadata)
	if err != nil {
		return err
	}
	b := make([]byte, 0, len(p.Data)+len(meta)+24)
	b = append(b, `{"data":`...)
	b = append(b, p.Data...)
	b = append(b, `,"metadata":`...)
	b = append(b, meta...)
	b = append(b, '}')
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(b)
}

// Insert is POST /tables/{t}/data: one object, or an array for a batch.
func (h *Handler) Insert(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	body := bytes.TrimSpace(c.Body())
	batch := len(body) > 0 && body[0] == '['
	var rows []map[string]json.RawMessage
	if batch {
		err = httpserver.DecodeJSON(c, &rows)
		if err == nil && len(rows) == 0 {
			err = apperr.Validation(apperr.Field("body", "", "The batch is empty", "too_short"))
		}
		for _, r := range rows {
			if err == nil && r == nil {
				err = apperr.Validation(apperr.Field("body", "", "Each row must be an object", "dict_type"))
			}
		}
	} else {
		var row map[string]json.RawMessage
		if err = httpserver.DecodeJSON(c, &row); err == nil && row == nil {
			err = apperr.Validation(apperr.Field("body", "", "Input should be an object", "dict_type"))
		}
		rows = []map[string]json.RawMessage{row}
	}
	if err != nil {
		return err
	}
	out, err := h.svc.Insert(c.UserContext(), p, pathParam(c, "table"), rows)
	if err != nil {
		return err
	}
	if !batch {
		var list []json.RawMessage
		if err := json.Unmarshal(out, &list); err != nil || len(list) != 1 {
			return apperr.Internal(err)
		}
		out = list[0]
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(out)
}

// idColumn reads the required id_column query parameter.
func idColumn(c *fiber.Ctx) (string, error) {
	col := c.Query("id_column")
	if col == "" {
		return "", apperr.Validation(apperr.Field("query", "id_column", "Field required", "missing"))
	}
	if !ValidIdent(col) {
		return "", ErrInvalidIdentifier.WithMessage("Invalid id_column '%s'", col)
	}
	return col, nil
}

// UpdateRow is PUT /tables/{t}/data/{id}.
func (h *Handler) UpdateRow(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	col, err := idColumn(c)
	if err != nil {
		return err
	}
	var values map[string]json.RawMessage
	if len(bytes.TrimSpace(c.Body())) == 0 {
		return ErrEmptyBody.WithMessage("No data provided for update")
	}
	if err := httpserver.DecodeJSON(c, &values); err != nil {
		return err
	}
	if len(values) == 0 {
		return ErrEmptyBody.WithMessage("No data provided for update")
	}
	out, err := h.svc.UpdateRow(c.UserContext(), p, pathParam(c, "table"), col, pathParam(c, "id"), values)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(out)
}

// DeleteRow is DELETE /tables/{t}/data/{id}.
func (h *Handler) DeleteRow(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	col, err := idColumn(c)
	if err != nil {
		return err
	}
	id := pathParam(c, "id")
	out, err := h.svc.DeleteRow(c.UserContext(), p, pathParam(c, "table"), col, id)
	if err != nil {
		return err
	}
	return c.JSON(RowDeleted{Message: "Row with " + col + "='" + id + "' deleted successfully", DeletedData: out})
}

// CreateSQL is GET /tables/{t}/sql.
func (h *Handler) CreateSQL(c *fiber.Ctx) error {
	s, err := h.svc.CreateSQL(c.UserContext(), pathParam(c, "table"))
	if err != nil {
		return err
	}
	return c.JSON(TableSQL{SQL: s})
}

// Drop is DELETE /tables/{t}.
func (h *Handler) Drop(c *fiber.Ctx) error {
	name := pathParam(c, "table")
	if err := h.svc.Drop(c.UserContext(), name); err != nil {
		return err
	}
	return c.JSON(Message{Message: "Table '" + name + "' deleted successfully"})
}

// Create is POST /tables.
func (h *Handler) Create(c *fiber.Ctx) error {
	var in CreateTableIn
	if err := httpserver.DecodeJSON(c, &in); err != nil {
		return err
	}
	pol, created, err := h.svc.Create(c.UserContext(), in)
	if err != nil {
		return err
	}
	if !created {
		return c.Status(fiber.StatusCreated).JSON(TableExisted{Message: "Table '" + in.Name + "' already exists", Name: in.Name})
	}
	return c.Status(fiber.StatusCreated).JSON(TableCreated{Message: "Table '" + in.Name + "' created successfully",
		Created: true, Name: in.Name, Columns: in.Columns, Access: pol, OwnerColumn: pol.OwnerColumn})
}

// AddColumn is POST /tables/{t}/columns.
func (h *Handler) AddColumn(c *fiber.Ctx) error {
	var in AddColumnIn
	if err := httpserver.DecodeJSON(c, &in); err != nil {
		return err
	}
	typ, err := h.svc.AddColumn(c.UserContext(), pathParam(c, "table"), in)
	if err != nil {
		return err
	}
	return c.JSON(ColumnAdded{Message: "Column '" + in.ColumnName + "' added successfully", ColumnName: in.ColumnName, DataType: typ})
}

// UpdateColumn is PUT /tables/{t}/columns/{c}.
func (h *Handler) UpdateColumn(c *fiber.Ctx) error {
	var in UpdateColumnIn
	if err := httpserver.DecodeJSON(c, &in); err != nil {
		return err
	}
	name, err := h.svc.UpdateColumn(c.UserContext(), pathParam(c, "table"), pathParam(c, "column"), in)
	if err != nil {
		return err
	}
	return c.JSON(ColumnChanged{Message: "Column '" + name + "' updated successfully", ColumnName: name})
}

// DropColumn is DELETE /tables/{t}/columns/{c}.
func (h *Handler) DropColumn(c *fiber.Ctx) error {
	col := pathParam(c, "column")
	if err := h.svc.DropColumn(c.UserContext(), pathParam(c, "table"), col); err != nil {
		return err
	}
	return c.JSON(ColumnChanged{Message: "Column '" + col + "' deleted successfully", ColumnName: col})
}

// UpdateTable is PUT /tables/{t}.
func (h *Handler) UpdateTable(c *fiber.Ctx) error {
	var in UpdateTableIn
	if err := httpserver.DecodeJSON(c, &in); err != nil {
		return err
	}
	res, err := h.svc.UpdateTable(c.UserContext(), pathParam(c, "table"), in)
	if err != nil {
		return err
	}
	if !res.Changed {
		return c.JSON(Message{Message: "No changes were made to the table"})
	}
	out := TableUpdated{Message: "Table updated successfully", Description: res.Description}
	if res.Renamed {
		out.OldName, out.NewName = &res.OldName, &res.NewName
	}
	if res.PolicySet {
		owner, err := json.Marshal(res.Policy.OwnerColumn)
		if err != nil {
			return err
		}
		out.Access, out.OwnerColumn = &res.Policy, owner
	}
	return c.JSON(out)
}

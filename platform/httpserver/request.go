package httpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/logging"
)

// The request parsers every module's handlers share. Each bad input is a 422
// in FastAPI's shape (api.md §0.4), never a 500.

// DecodeJSON reads a JSON body into dst. A non-JSON content type, an empty or
// malformed body, or a value of the wrong type is a 422. A missing
// Content-Type is accepted as JSON, as FastAPI does. Fields dst does not
// have are accepted and ignored, as the Python version's SDKs expect; at
// debug level each request naming some is logged with their names (a
// misspelled is_public would otherwise pass unnoticed).
func DecodeJSON(c *fiber.Ctx, dst any) error {
	if !isJSON(c.Get(fiber.HeaderContentType)) {
		return apperr.Validation(apperr.Field("body", "", "Input should be a valid JSON object (Content-Type: application/json)", "model_attributes_type"))
	}
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		return apperr.Validation(apperr.Field("body", "", "Field required", "missing"))
	}
	if err := json.Unmarshal(body, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			kind := jsonType(te.Type.Kind().String())
			return apperr.Validation(apperr.Field("body", te.Field, "Input should be a valid "+kind, kind+"_type"))
		}
		return apperr.Validation(apperr.Field("body", "", "JSON decode error", "json_invalid"))
	}
	if log, ok := c.Locals(loggerKey).(*zap.Logger); ok && log.Core().Enabled(zapcore.DebugLevel) {
		if unknown := unknownFields(body, dst); len(unknown) > 0 {
			log.Debug("unknown JSON fields ignored", zap.String("request_id", logging.RequestID(c)),
				zap.String("method", c.Method()), zap.String("path", c.Path()), zap.Strings("fields", unknown))
		}
	}
	return nil
}

// loggerKey holds the server's logger in each request's locals (DecodeJSON
// logs there).
const loggerKey = "selfdb.httplog"

// unknownFields lists the top-level keys of a JSON object body that dst, a
// struct (or pointer to one), has no field for, matched as encoding/json
// matches them (case-insensitively). Bodies decoded into maps or slices
// have none.
func unknownFields(body []byte, dst any) []string {
	t := reflect.TypeOf(dst)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return nil
	}
	known := jsonFields(t)
	var out []string
	for k := range obj {
		if !known[strings.ToLower(k)] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

var fieldNames sync.Map // reflect.Type → map[string]bool

// jsonFields returns the lower-cased JSON names of a struct's fields,
// embedded structs' included.
func jsonFields(t reflect.Type) map[string]bool {
	if m, ok := fieldNames.Load(t); ok {
		return m.(map[string]bool)
	}
	m := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && f.Tag.Get("json") == "-" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			for k := range jsonFields(ft) {
				m[k] = true
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[strings.ToLower(name)] = true
	}
	fieldNames.Store(t, m)
	return m
}

func isJSON(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == fiber.MIMEApplicationJSON || strings.HasSuffix(mt, "+json")
}

func jsonType(kind string) string {
	switch kind {
	case "string", "bool":
		return kind
	case "struct", "map":
		return "dict"
	case "slice", "array":
		return "list"
	case "ptr", "interface":
		return "value"
	}
	if strings.HasPrefix(kind, "int") || strings.HasPrefix(kind, "uint") {
		return "int"
	}
	if strings.HasPrefix(kind, "float") {
		return "float"
	}
	return kind
}

// QueryInt reads an integer query parameter within [lo, hi], def when absent.
func QueryInt(c *fiber.Ctx, name string, def, lo, hi int) (int, error) {
	raw := c.Query(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	switch {
	case err != nil:
		return 0, apperr.Validation(apperr.Field("query", name, "Input should be a valid integer, unable to parse string as an integer", "int_parsing"))
	case n < lo:
		return 0, apperr.Validation(apperr.Field("query", name, "Input should be greater than or equal to "+strconv.Itoa(lo), "greater_than_equal"))
	case n > hi:
		return 0, apperr.Validation(apperr.Field("query", name, "Input should be less than or equal to "+strconv.Itoa(hi), "less_than_equal"))
	}
	return n, nil
}

// Page reads skip (alias offset, ≥ 0, default 0) and limit (1–maxLimit,
// default 100) for the list routes.
func Page(c *fiber.Ctx, maxLimit int) (skip, limit int, err error) {
	skipName := "skip"
	if c.Query("skip") == "" && c.Query("offset") != "" {
		skipName = "offset"
	}
	if skip, err = QueryInt(c, skipName, 0, 0, int(^uint32(0)>>1)); err != nil {
		return 0, 0, err
	}
	if limit, err = QueryInt(c, "limit", 100, 1, maxLimit); err != nil {
		return 0, 0, err
	}
	return skip, limit, nil
}

// PathUUID parses a UUID path parameter; a malformed one is a 422.
func PathUUID(c *fiber.Ctx, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params(name))
	if err != nil {
		return uuid.Nil, apperr.Validation(apperr.Field("path", name, "Input should be a valid UUID", "uuid_parsing"))
	}
	return id, nil
}

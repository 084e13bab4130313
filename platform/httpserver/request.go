package httpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/apperr"
)

// The request parsers every module's handlers share. Each bad input is a 422
// in FastAPI's shape (api.md §0.4), never a 500.

// DecodeJSON reads a JSON body into dst. A non-JSON content type, an empty or
// malformed body, or a value of the wrong type is a 422. A missing
// Content-Type is accepted as JSON, as FastAPI does.
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
	return nil
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

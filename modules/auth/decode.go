package auth

import (
	"encoding/json"
	"errors"
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/apperr"
)

// DecodeJSON reads a JSON object body into dst. A wrong content type, an
// empty or malformed body, or a value of the wrong type is a 422 in FastAPI's
// shape, never a 500. A missing Content-Type is accepted as JSON (as FastAPI does).
func DecodeJSON(c *fiber.Ctx, dst any) error {
	if !isJSON(c.Get(fiber.HeaderContentType)) {
		return apperr.Validation(apperr.Field("body", "", "Input should be a valid JSON object (Content-Type: application/json)", "model_attributes_type"))
	}
	body := c.Body()
	if len(strings.TrimSpace(string(body))) == 0 {
		return apperr.Validation(apperr.Field("body", "", "Field required", "missing"))
	}
	if err := json.Unmarshal(body, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return apperr.Validation(apperr.Field("body", te.Field, "Input should be a valid "+jsonType(te.Type.Kind().String()), jsonType(te.Type.Kind().String())+"_type"))
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
	case "string":
		return "string"
	case "bool":
		return "bool"
	case "struct", "map":
		return "dict"
	case "slice", "array":
		return "list"
	case "ptr":
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

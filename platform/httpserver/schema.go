package httpserver

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
)

// Schema is an OpenAPI 3.0 schema object (the part SelfDB uses).
type Schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	Description          string             `json:"description,omitempty"`
	Nullable             bool               `json:"nullable,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Default              any                `json:"default,omitempty"`
	Minimum              *float64           `json:"minimum,omitempty"`
	Maximum              *float64           `json:"maximum,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties any                `json:"additionalProperties,omitempty"`
	OneOf                []*Schema          `json:"oneOf,omitempty"`
	AllOf                []*Schema          `json:"allOf,omitempty"`
}

// SchemaProvider is implemented by types whose JSON form their Go fields
// don't show (a custom UnmarshalJSON, a string with a fixed set of values).
type SchemaProvider interface {
	OpenAPISchema() Schema
}

// Common schemas.
var (
	// Binary is raw bytes (an upload or download body).
	Binary = Schema{Type: "string", Format: "binary"}
	// AnyValue is any JSON value.
	AnyValue = Schema{}
)

// oneOf is a schema that is one of several Go types' (OneOf).
type oneOf []any

// OneOf is a schema matching any one of the given values' schemas.
func OneOf(vs ...any) any { return oneOf(vs) }

var (
	timeType    = reflect.TypeFor[time.Time]()
	uuidType    = reflect.TypeFor[uuid.UUID]()
	rawType     = reflect.TypeFor[json.RawMessage]()
	bytesType   = reflect.TypeFor[[]byte]()
	schemaType  = reflect.TypeFor[Schema]()
	providerTyp = reflect.TypeFor[SchemaProvider]()
)

// component is one named schema of components/schemas.
type component struct {
	name   string
	t      reflect.Type
	schema *Schema
	// request: reached from a request body, so it accepts unknown fields
	// and no field is required (the handlers check what they need).
	request bool
}

// schemas reflects Go types into schemas, named structs into components.
type schemas struct {
	byType map[reflect.Type]*component
	byName map[string]*component
}

func newSchemas() *schemas {
	return &schemas{byType: map[reflect.Type]*component{}, byName: map[string]*component{}}
}

// of returns the schema of v: a Schema as it is, a OneOf, or v's type.
func (s *schemas) of(v any, request bool) *Schema {
	switch x := v.(type) {
	case nil:
		return &Schema{}
	case Schema:
		return &x
	case *Schema:
		return x
	case oneOf:
		out := &Schema{}
		for _, alt := range x {
			out.OneOf = append(out.OneOf, s.of(alt, request))
		}
		return out
	}
	return s.typ(reflect.TypeOf(v), request)
}

// body returns the schema of a request body: a struct inline (so that
// each operation says which of its fields it requires), anything else as of.
func (s *schemas) body(v any, required []string) *Schema {
	switch v.(type) {
	case Schema, *Schema, oneOf:
		return s.of(v, true)
	}
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Struct || special(t) {
		return s.of(v, true)
	}
	out := s.object(t, true)
	out.Required = required
	return out
}

func special(t reflect.Type) bool {
	return t == timeType || t == uuidType || t.Implements(providerTyp)
}

func (s *schemas) typ(t reflect.Type, request bool) *Schema {
	if t.Kind() != reflect.Pointer && t.Implements(providerTyp) {
		p := reflect.Zero(t).Interface().(SchemaProvider).OpenAPISchema()
		return &p
	}
	switch t {
	case timeType:
		return &Schema{Type: "string", Format: "date-time"}
	case uuidType:
		return &Schema{Type: "string", Format: "uuid"}
	case rawType:
		return &Schema{Description: "Any JSON value."}
	case bytesType:
		return &Schema{Type: "string", Format: "byte"}
	case schemaType:
		return &Schema{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		// In a request a nil pointer is a field left out: null is not
		// offered as a value.
		in := s.typ(t.Elem(), request)
		if request {
			return in
		}
		if in.Ref != "" {
			return &Schema{AllOf: []*Schema{in}, Nullable: true}
		}
		in.Nullable = true
		return in
	case reflect.Bool:
		return &Schema{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Uint8, reflect.Uint16:
		return &Schema{Type: "integer"}
	case reflect.Int32, reflect.Uint32:
		return &Schema{Type: "integer", Format: "int32"}
	case reflect.Int64, reflect.Uint, reflect.Uint64:
		return &Schema{Type: "integer", Format: "int64"}
	case reflect.Float32:
		return &Schema{Type: "number", Format: "float"}
	case reflect.Float64:
		return &Schema{Type: "number", Format: "double"}
	case reflect.String:
		return &Schema{Type: "string"}
	case reflect.Slice, reflect.Array:
		return &Schema{Type: "array", Items: s.typ(t.Elem(), request)}
	case reflect.Map:
		return &Schema{Type: "object", AdditionalProperties: s.typ(t.Elem(), request)}
	case reflect.Struct:
		if t.Name() == "" {
			return s.object(t, request)
		}
		return &Schema{Ref: "#/components/schemas/" + s.component(t, request).name}
	}
	return &Schema{}
}

// component returns t's component, built on first use. A component first
// reached from a response and later from a request is marked as a request
// one, with every struct it reaches.
func (s *schemas) component(t reflect.Type, request bool) *component {
	if c := s.byType[t]; c != nil {
		if request && !c.request {
			c.request = true
			s.object(t, true) // marks the components it reaches
		}
		return c
	}
	name := componentName(t)
	for i := 2; s.byName[name] != nil; i++ {
		name = componentName(t) + string(rune('0'+i))
	}
	c := &component{name: name, t: t, request: request}
	s.byType[t], s.byName[name] = c, c
	c.schema = s.object(t, request)
	return c
}

// componentName is package.Type, the type's first letter upper-cased.
func componentName(t reflect.Type) string {
	pkg := t.PkgPath()
	if i := strings.LastIndex(pkg, "/"); i >= 0 {
		pkg = pkg[i+1:]
	}
	r := []rune(t.Name())
	r[0] = unicode.ToUpper(r[0])
	return pkg + "." + string(r)
}

// object is a struct's schema, its fields as encoding/json writes them
// (embedded structs flattened). In a response every field without
// omitempty is required, since it is always sent.
func (s *schemas) object(t reflect.Type, request bool) *Schema {
	out := &Schema{Type: "object", Properties: map[string]*Schema{}}
	s.fields(t, request, out)
	if request {
		out.AdditionalProperties = true
		out.Required = nil
	}
	sort.Strings(out.Required)
	return out
}

func (s *schemas) fields(t reflect.Type, request bool, out *Schema) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				s.fields(ft, request, out)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		var fs *Schema
		if strings.Contains(opts, "string") {
			fs = &Schema{Type: "string"}
		} else {
			fs = s.typ(ft, request)
		}
		if d := f.Tag.Get("doc"); d != "" {
			if fs.Ref != "" {
				fs = &Schema{AllOf: []*Schema{fs}}
			}
			fs.Description = d
		}
		out.Properties[name] = fs
		if !strings.Contains(opts, "omitempty") {
			out.Required = append(out.Required, name)
		}
	}
}

// finish returns components/schemas, request components marked open.
func (s *schemas) finish() map[string]*Schema {
	out := make(map[string]*Schema, len(s.byName))
	for name, c := range s.byName {
		if c.request {
			c.schema.AdditionalProperties = true
			c.schema.Required = nil
		}
		out[name] = c.schema
	}
	return out
}

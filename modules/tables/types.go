package tables

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// typeSpec describes one allow-listed type: its canonical name and which
// modifiers it takes.
type typeSpec struct {
	canonical string
	// mods is how many numeric modifiers it accepts (0, 1 or 2).
	mods int
	// minMod/maxMod bound the first modifier.
	minMod, maxMod int
	// serial types can't be arrays.
	serial bool
}

// allowedTypes maps every accepted spelling to its spec. Nothing outside this
// table ever reaches DDL.
var allowedTypes = map[string]typeSpec{}

func init() {
	add := func(spec typeSpec, names ...string) {
		for _, n := range names {
			allowedTypes[n] = spec
		}
	}
	add(typeSpec{canonical: "smallint"}, "smallint", "int2")
	add(typeSpec{canonical: "integer"}, "integer", "int", "int4")
	add(typeSpec{canonical: "bigint"}, "bigint", "int8")
	add(typeSpec{canonical: "smallserial", serial: true}, "smallserial", "serial2")
	add(typeSpec{canonical: "serial", serial: true}, "serial", "serial4")
	add(typeSpec{canonical: "bigserial", serial: true}, "bigserial", "serial8")
	add(typeSpec{canonical: "real"}, "real", "float4")
	add(typeSpec{canonical: "double precision"}, "double precision", "float8", "float", "double")
	add(typeSpec{canonical: "numeric", mods: 2, minMod: 1, maxMod: 1000}, "numeric", "decimal")
	add(typeSpec{canonical: "boolean"}, "boolean", "bool")
	add(typeSpec{canonical: "text"}, "text", "string")
	add(typeSpec{canonical: "character varying", mods: 1, minMod: 1, maxMod: 10485760}, "varchar", "character varying")
	add(typeSpec{canonical: "character", mods: 1, minMod: 1, maxMod: 10485760}, "char", "character", "bpchar")
	add(typeSpec{canonical: "uuid"}, "uuid")
	add(typeSpec{canonical: "date"}, "date")
	add(typeSpec{canonical: "time", mods: 1, maxMod: 6}, "time", "time without time zone")
	add(typeSpec{canonical: "time with time zone", mods: 1, maxMod: 6}, "timetz", "time with time zone")
	add(typeSpec{canonical: "timestamp", mods: 1, maxMod: 6}, "timestamp", "timestamp without time zone", "datetime")
	add(typeSpec{canonical: "timestamp with time zone", mods: 1, maxMod: 6}, "timestamptz", "timestamp with time zone")
	add(typeSpec{canonical: "interval"}, "interval")
	add(typeSpec{canonical: "json"}, "json")
	add(typeSpec{canonical: "jsonb"}, "jsonb")
	add(typeSpec{canonical: "bytea"}, "bytea")
	add(typeSpec{canonical: "inet"}, "inet")
	add(typeSpec{canonical: "cidr"}, "cidr")
	add(typeSpec{canonical: "macaddr"}, "macaddr")
	add(typeSpec{canonical: "money"}, "money")
	add(typeSpec{canonical: "tsvector"}, "tsvector")
	add(typeSpec{canonical: "xml"}, "xml")
}

// typeRE splits "name(m1, m2)[][]"; the name is letters, digits and single spaces.
var typeRE = regexp.MustCompile(`^([a-z][a-z0-9]*(?: [a-z][a-z0-9]*)*)\s*(?:\(\s*(\d{1,8})\s*(?:,\s*(\d{1,4})\s*)?\))?\s*((?:\[\])*)$`)

// midModRE matches a time type whose modifier sits before "with(out) time zone".
var midModRE = regexp.MustCompile(`^(time|timestamp)\s*(\(\s*\d{1,8}\s*\))\s*(with time zone|without time zone)`)

// ParseType checks a caller's type against the allow-list and returns its
// canonical SQL spelling, e.g. "VARCHAR( 20 )[]" → "character varying(20)[]".
// ok is false for anything not allowed.
func ParseType(raw string) (string, bool) {
	s := strings.ToLower(strings.Join(strings.Fields(raw), " "))
	if len(s) > 64 {
		return "", false
	}
	// Postgres spells "timestamp(3) with time zone"; move the modifier last.
	s = midModRE.ReplaceAllString(s, "$1 $3$2")
	m := typeRE.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	spec, ok := allowedTypes[m[1]]
	if !ok {
		return "", false
	}
	out := spec.canonical
	if m[2] != "" {
		if spec.mods == 0 {
			return "", false
		}
		p, _ := strconv.Atoi(m[2])
		if p < spec.minMod || p > spec.maxMod {
			return "", false
		}
		if m[3] != "" {
			if spec.mods < 2 {
				return "", false
			}
			sc, _ := strconv.Atoi(m[3])
			if sc > p {
				return "", false
			}
			out += "(" + strconv.Itoa(p) + "," + strconv.Itoa(sc) + ")"
		} else {
			out += "(" + strconv.Itoa(p) + ")"
		}
		// "time(3) with time zone" is how Postgres wants modifiers on these.
		switch spec.canonical {
		case "time with time zone":
			out = "time(" + strconv.Itoa(p) + ") with time zone"
		case "timestamp with time zone":
			out = "timestamp(" + strconv.Itoa(p) + ") with time zone"
		}
	} else if m[3] != "" {
		return "", false
	}
	if m[4] != "" {
		if spec.serial {
			return "", false
		}
		out += m[4]
	}
	return out, true
}

// withModifiers folds the separate length/precision fields of the column
// routes (api.md §6.2 #10) into a type: ("varchar", 20) → "varchar(20)".
func withModifiers(dataType string, maxLen, precision, scale *int) string {
	if strings.Contains(dataType, "(") {
		return dataType
	}
	switch {
	case maxLen != nil:
		return dataType + "(" + strconv.Itoa(*maxLen) + ")"
	case precision != nil && scale != nil:
		return dataType + "(" + strconv.Itoa(*precision) + "," + strconv.Itoa(*scale) + ")"
	case precision != nil:
		return dataType + "(" + strconv.Itoa(*precision) + ")"
	}
	return dataType
}

// defaultExprs are the only expressions accepted as column defaults; any
// other default is a literal of the column's type.
var defaultExprs = map[string]string{
	"now()":              "now()",
	"gen_random_uuid()":  "gen_random_uuid()",
	"current_timestamp":  "CURRENT_TIMESTAMP",
	"current_date":       "CURRENT_DATE",
	"current_time":       "CURRENT_TIME",
	"uuid_generate_v4()": "gen_random_uuid()",
}

// defaultSQL renders a default for a column of canonical type typ: an
// allow-listed expression, or the value as an escaped literal cast to typ.
func defaultSQL(value any, typ string) (string, bool) {
	var s string
	switch v := value.(type) {
	case nil:
		return "NULL", true
	case bool:
		s = strconv.FormatBool(v)
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	case map[string]any, []any:
		b, err := json.Marshal(v)
		if err != nil {
			return "", false
		}
		s = string(b)
	case string:
		if e, ok := defaultExprs[strings.ToLower(strings.TrimSpace(v))]; ok {
			return e, true
		}
		s = v
	default:
		return "", false
	}
	lit, ok := quoteLiteral(s)
	if !ok {
		return "", false
	}
	return lit + "::" + typ, true
}

package config

import (
	"reflect"
	"strings"
)

// Variable describes one environment variable of Config.
type Variable struct {
	Name    string
	Field   string
	Default string
}

// Variables lists every variable Config reads, in declaration order.
func Variables() []Variable { return VariablesOf(Config{}) }

// VariablesOf lists the variables a settings struct (Config or a module's
// section) reads, in declaration order.
func VariablesOf(v any) []Variable {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := make([]Variable, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if name == "" {
			continue
		}
		out = append(out, Variable{Name: name, Field: f.Name, Default: f.Tag.Get("envDefault")})
	}
	return out
}

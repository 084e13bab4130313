package config

import (
	"reflect"
	"regexp"
	"strings"

	"github.com/caarlos0/env/v11"
	"go.uber.org/fx"
)

// A module keeps its own variables in a section: a struct with the same env
// tags as Config, read by Section from the environment Config came from (the
// process's, or the map a test passed to Parse). A section with a
// Validate() error method is validated too; its errors name the variable.
// Every section's variables are documented in configs/selfdb.example.env
// like Config's: a module contributes its section to the "config_sections"
// value group (AsSettings), and a test of the whole product checks them all
// with Undocumented.

// Section reads the section dst (a pointer to a struct with env tags).
func (c *Config) Section(dst any) error {
	opts := env.Options{}
	if c.environ != nil {
		opts.Environment = c.environ
	}
	if err := env.ParseWithOptions(dst, opts); err != nil {
		return describe(err, VariablesOf(dst))
	}
	if v, ok := dst.(interface{ Validate() error }); ok {
		return v.Validate()
	}
	return nil
}

// VariablesOf lists the variables a section struct (or a pointer to one)
// reads, in declaration order.
func VariablesOf(section any) []Variable {
	t := reflect.TypeOf(section)
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

var exampleLine = regexp.MustCompile(`(?m)^([A-Z][A-Z0-9_]*)=(.*)$`)

// Undocumented checks vars against the text of an example env file and
// returns what is wrong: a variable missing, or documented with another
// default than the code's.
func Undocumented(example string, vars []Variable) []string {
	documented := map[string]string{}
	for _, m := range exampleLine.FindAllStringSubmatch(example, -1) {
		documented[m[1]] = m[2]
	}
	var problems []string
	for _, v := range vars {
		got, ok := documented[v.Name]
		switch {
		case !ok:
			problems = append(problems, v.Name+" is read by the server but not documented")
		case v.Default != "" && got != v.Default:
			problems = append(problems, v.Name+": example says "+got+", code default is "+v.Default)
		}
	}
	return problems
}

// Settings is one module's parsed section, for the "config_sections" group.
type Settings struct {
	// Module is the module's name.
	Module string
	// Value points to the section struct.
	Value any
}

// AsSettings annotates a constructor of Settings so that its result joins
// the "config_sections" value group.
func AsSettings(ctor any) any {
	return fx.Annotate(ctor, fx.ResultTags(`group:"config_sections"`))
}

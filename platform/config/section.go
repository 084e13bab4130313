package config

import (
	"github.com/caarlos0/env/v11"
	"go.uber.org/fx"
)

// A module keeps its own settings in a section: a struct with env tags (as
// Config has), parsed from the same environment as Config by ParseSection,
// validated by its Validate method, and contributed to the "config_sections"
// value group with AsSection so that tools and tests see every variable of
// the product (the example env file documents them all).

// Validator is implemented by sections that check their values; errors name
// the variable.
type Validator interface {
	Validate() error
}

// Section is one module's settings, for the "config_sections" group.
type Section struct {
	// Name is the module's name.
	Name string
	// Value points to the parsed struct.
	Value any
}

// ParseSection reads a module's settings (a pointer to a struct with env
// tags) from the environment cfg was read from, and validates them.
func ParseSection[T any](cfg *Config) (*T, error) {
	v := new(T)
	opts := env.Options{}
	if cfg.environ != nil {
		opts.Environment = cfg.environ
	}
	if err := env.ParseWithOptions(v, opts); err != nil {
		return nil, describe(err, v)
	}
	if val, ok := any(v).(Validator); ok {
		if err := val.Validate(); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// AsSection annotates a constructor of a Section so that it joins the
// "config_sections" value group.
func AsSection(ctor any) any {
	return fx.Annotate(ctor, fx.ResultTags(`group:"config_sections"`))
}

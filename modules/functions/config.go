package functions

import (
	"errors"
	"strings"
	"time"

	"github.com/selfdb/selfdb/platform/config"
)

// Config is the module's configuration section (config.Section); every
// variable is documented in configs/selfdb.example.env.
type Config struct {
	// DenoPath is the Deno binary; empty: deno on PATH, then the copy that
	// `make run`/`make test` install under bin/tools/deno.
	DenoPath string `env:"DENO_PATH"`
	// MemoryMB is the V8 heap limit of each function isolate; array buffers
	// are held to it as well.
	MemoryMB int `env:"FUNCTIONS_MEMORY_MB" envDefault:"128"`
	// LogRetention is how long runs (and their logs) are kept.
	LogRetention time.Duration `env:"FUNCTIONS_LOG_RETENTION" envDefault:"168h"`
	// IdleTimeout ends a function version's isolate after this long without
	// a run (the next run starts a new one).
	IdleTimeout time.Duration `env:"FUNCTIONS_IDLE_TIMEOUT" envDefault:"5m"`
}

// Validate checks the values the types alone don't.
func (c *Config) Validate() error {
	var errs []string
	if c.MemoryMB < 16 || c.MemoryMB > 16384 {
		errs = append(errs, "FUNCTIONS_MEMORY_MB: must be 16-16384")
	}
	if c.LogRetention < time.Minute {
		errs = append(errs, "FUNCTIONS_LOG_RETENTION: must be at least 1m")
	}
	if c.IdleTimeout < time.Second {
		errs = append(errs, "FUNCTIONS_IDLE_TIMEOUT: must be at least 1s")
	}
	if len(errs) > 0 {
		return errors.New("config: " + strings.Join(errs, "; "))
	}
	return nil
}

// LoadConfig reads the section from the platform configuration's environment.
func LoadConfig(cfg *config.Config) (*Config, error) {
	c := &Config{}
	if err := cfg.Section(c); err != nil {
		return nil, err
	}
	return c, nil
}

package realtime

import (
	"errors"
	"strings"
	"time"

	"github.com/selfdb/selfdb/platform/config"
)

// Config is the realtime module's section of the configuration.
type Config struct {
	// SendQueue is how many frames may wait for a slow client before it is
	// disconnected (close 1013).
	SendQueue int `env:"REALTIME_SEND_QUEUE" envDefault:"1024"`
	// PingInterval is how often the server pings; a client silent for two
	// intervals is disconnected.
	PingInterval time.Duration `env:"REALTIME_PING_INTERVAL" envDefault:"30s"`
	// MaxFrameBytes is the largest frame a client may send (close 1009).
	MaxFrameBytes int64 `env:"REALTIME_MAX_FRAME_BYTES" envDefault:"65536"`
	// MaxSubscriptions is how many subscriptions one connection may hold.
	MaxSubscriptions int `env:"REALTIME_MAX_SUBSCRIPTIONS" envDefault:"100"`
}

// Validate checks the values.
func (c *Config) Validate() error {
	var errs []string
	if c.SendQueue < 1 {
		errs = append(errs, "REALTIME_SEND_QUEUE: must be positive")
	}
	if c.PingInterval < 100*time.Millisecond {
		errs = append(errs, "REALTIME_PING_INTERVAL: must be at least 100ms")
	}
	if c.MaxFrameBytes < 1024 {
		errs = append(errs, "REALTIME_MAX_FRAME_BYTES: must be at least 1024")
	}
	if c.MaxSubscriptions < 1 {
		errs = append(errs, "REALTIME_MAX_SUBSCRIPTIONS: must be positive")
	}
	if len(errs) > 0 {
		return errors.New("config: " + strings.Join(errs, "; "))
	}
	return nil
}

func loadConfig(cfg *config.Config) (*Config, error) {
	c := &Config{}
	return c, cfg.Section(c)
}

func settings(c *Config) config.Settings { return config.Settings{Module: "realtime", Value: c} }

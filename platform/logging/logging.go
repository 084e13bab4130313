package logging

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/selfdb/selfdb/platform/config"
)

// RequestIDKey is the fiber.Locals key holding the request id.
const RequestIDKey = "requestid"

// New builds the logger described by the configuration.
func New(cfg *config.Config) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(strings.ToLower(cfg.LogLevel))
	if err != nil {
		return nil, err
	}
	var zc zap.Config
	if cfg.LogFormat == "console" {
		zc = zap.NewDevelopmentConfig()
	} else {
		zc = zap.NewProductionConfig()
		zc.EncoderConfig.TimeKey = "ts"
		zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
		// Sampling would drop access-log lines under load; they are the audit trail.
		zc.Sampling = nil
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.DisableStacktrace = level > zapcore.DebugLevel
	return zc.Build()
}

// RequestID returns the id of the request being served ("" outside a request).
func RequestID(c *fiber.Ctx) string {
	if id, ok := c.Locals(RequestIDKey).(string); ok {
		return id
	}
	return ""
}

// For returns log with the request's id attached; use it for every line
// written while serving a request.
func For(log *zap.Logger, c *fiber.Ctx) *zap.Logger {
	return log.With(zap.String("request_id", RequestID(c)))
}

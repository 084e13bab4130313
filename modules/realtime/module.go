package realtime

import (
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/tables"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/worker"
)

// Module provides the WebSocket endpoint and the hub that fans the change
// log out to it; it needs auth.Module (tokens) and tables.Module (policies).
var Module = fx.Module("realtime",
	fx.Provide(
		loadConfig,
		config.AsSettings(settings),
		func(s *tables.Service) Tables { return s },
		NewHub,
		worker.As(func(h *Hub) *Hub { return h }),
		httpserver.AsDrainer(func(h *Hub) *Hub { return h }),
		httpserver.AsRoutes(NewRoutes),
	),
)

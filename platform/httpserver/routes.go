package httpserver

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/fx"
)

// Routes is what a module contributes to the server.
type Routes interface {
	// Register adds the module's routes to the app's root router.
	Register(r fiber.Router)
}

// Streamer is implemented by Routes whose handlers read the request body as a
// stream (uploads). The body limit does not apply under these path prefixes;
// the handlers enforce their own.
type Streamer interface {
	StreamPrefixes() []string
}

// Public is implemented by Routes with paths that need no anon key (api.md
// §0.2): byte routes with their own authorization, the WebSocket upgrade,
// the token refresh. An entry ending in "/" is a prefix (every path under
// it); any other entry is that one path (with or without a trailing slash),
// so that declaring /api/v1/auth/refresh opens nothing else.
type Public interface {
	PublicPrefixes() []string
}

// Drainer is implemented by values that hold long-lived connections
// (WebSockets): at stop, the server calls Drain before it stops accepting
// and waits for requests, so they can close their connections cleanly.
type Drainer interface {
	Drain(ctx context.Context)
}

// AsDrainer annotates a constructor so that its result joins the "drainers"
// value group the server calls at stop.
func AsDrainer(ctor any) any {
	return fx.Annotate(ctor, fx.As(new(Drainer)), fx.ResultTags(`group:"drainers"`))
}

// AsRoutes annotates a constructor so that its result joins the "routes"
// value group the server registers.
func AsRoutes(ctor any) any {
	return fx.Annotate(ctor, fx.As(new(Routes)), fx.ResultTags(`group:"routes"`))
}

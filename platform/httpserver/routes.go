package httpserver

import (
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

// AsRoutes annotates a constructor so that its result joins the "routes"
// value group the server registers.
func AsRoutes(ctor any) any {
	return fx.Annotate(ctor, fx.As(new(Routes)), fx.ResultTags(`group:"routes"`))
}

// Command benchhello is a bare Fiber v2 hello-world: `make bench` measures it
// next to selfdb as the framework's ceiling on the same machine.
package main

import (
	"log"
	"os"

	"github.com/gofiber/fiber/v2"
)

func main() {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	// Every path answers, so the bench's readiness probe (/readyz) and its
	// endpoints need no special case.
	app.Get("/*", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok", "message": "API is running"})
	})
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8001"
	}
	log.Fatal(app.Listen(addr))
}

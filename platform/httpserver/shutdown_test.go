package httpserver_test

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/testkit"
)

// slowRoutes holds a request until the test releases it.
type slowRoutes struct{ entered, release chan struct{} }

func (s slowRoutes) Register(r fiber.Router) {
	r.Get("/api/v1/probe/slow", func(c *fiber.Ctx) error {
		close(s.entered)
		<-s.release
		return c.JSON(fiber.Map{"done": true})
	})
}

// Stopping the app (SIGTERM) closes the listener at once but lets the
// request in flight finish before the stop completes.
func TestGracefulShutdownDrains(t *testing.T) {
	s := slowRoutes{entered: make(chan struct{}), release: make(chan struct{})}
	app := testkit.Start(t, testkit.With(fx.Provide(httpserver.AsRoutes(func() slowRoutes { return s }))))
	addr := app.URL()[len("http://"):]

	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	go func() {
		req, _ := http.NewRequest(http.MethodGet, app.URL()+"/api/v1/probe/slow", nil)
		req.Header.Set("apikey", testkit.AnonKey)
		resp, err := client.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, string(b), err}
	}()
	select {
	case <-s.entered:
	case r := <-done:
		t.Fatalf("request ended before reaching the handler: %+v", r)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- app.Stop() }()
	// The listener closes promptly: new connections are refused.
	start := time.Now()
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Since(start) > 5*time.Second {
			t.Fatal("listener still accepting 5 s after stop began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-stopped:
		t.Fatalf("stop returned (%v) while a request was in flight", err)
	default:
	}

	close(s.release)
	r := <-done
	if r.err != nil || r.status != 200 || r.body != `{"done":true}` {
		t.Fatalf("in-flight request cut by shutdown: %+v", r)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stop did not return after the last request finished")
	}
}

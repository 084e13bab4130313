package identity_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/identity"
)

// resolver knows one token per role and counts its calls.
type resolver struct{ calls atomic.Int32 }

var (
	userID = uuid.New()
	suID   = uuid.New()
)

func (r *resolver) Resolve(_ context.Context, token string) (*identity.Principal, error) {
	r.calls.Add(1)
	switch token {
	case "user":
		return identity.User(userID, "u@example.com", false), nil
	case "super":
		return identity.User(suID, "s@example.com", true), nil
	case "down":
		return nil, errors.New("database down")
	}
	return identity.Anon, nil
}

func app(r identity.Resolver) *fiber.App {
	a := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(apperr.From(err).Kind.Status()).SendString(apperr.From(err).Code)
	}})
	a.Use(identity.Middleware(r))
	a.Get("/open", func(c *fiber.Ctx) error { return c.SendString("open") })
	a.Get("/who", func(c *fiber.Ctx) error {
		p, err := identity.From(c)
		if err != nil {
			return err
		}
		p2, _ := identity.From(c) // resolved once per request
		if p2 != p {
			return errors.New("resolved twice")
		}
		return c.SendString(p.Role.String())
	})
	a.Get("/user", identity.RequireUser, func(c *fiber.Ctx) error { return c.SendString("ok") })
	a.Get("/super", identity.RequireSuperuser, func(c *fiber.Ctx) error { return c.SendString("ok") })
	return a
}

func get(t *testing.T, a *fiber.App, path, auth string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := a.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 64)
	n, _ := resp.Body.Read(b)
	return resp.StatusCode, string(b[:n])
}

// The guards and From for every role, and a Resolver error surfacing as
// the error it is (the database's 503), not as anon.
func TestGuards(t *testing.T) {
	r := &resolver{}
	a := app(r)
	cases := []struct {
		path, auth string
		status     int
		body       string
	}{
		{"/who", "", 200, "anon"},
		{"/who", "Bearer nope", 200, "anon"},
		{"/who", "Bearer user", 200, "user"},
		{"/who", "bearer super", 200, "superuser"},
		{"/who", "Basic user", 200, "anon"},
		{"/user", "", 401, "not_authenticated"},
		{"/user", "Bearer user", 200, "ok"},
		{"/user", "Bearer super", 200, "ok"},
		{"/super", "", 401, "not_authenticated"},
		{"/super", "Bearer user", 403, "not_enough_privileges"},
		{"/super", "Bearer super", 200, "ok"},
		{"/user", "Bearer down", 500, "internal"},
	}
	for _, c := range cases {
		if status, body := get(t, a, c.path, c.auth); status != c.status || body != c.body {
			t.Errorf("%s %q: %d %q, want %d %q", c.path, c.auth, status, body, c.status, c.body)
		}
	}
}

// A route that never asks who calls costs no resolution.
func TestResolutionIsLazy(t *testing.T) {
	r := &resolver{}
	a := app(r)
	get(t, a, "/open", "Bearer user")
	if n := r.calls.Load(); n != 0 {
		t.Fatalf("%d resolutions for a route that does not need the caller", n)
	}
	get(t, a, "/who", "Bearer user")
	if n := r.calls.Load(); n != 1 {
		t.Fatalf("%d resolutions for one request", n)
	}
}

// The roles' rights; a nil principal is anon.
func TestRoles(t *testing.T) {
	var none *identity.Principal
	user := identity.User(userID, "", false)
	for _, c := range []struct {
		p                *identity.Principal
		anon, isUser, su bool
	}{
		{none, true, false, false},
		{identity.Anon, true, false, false},
		{user, false, true, false},
		{identity.User(suID, "", true), false, true, true},
		{identity.Service, false, false, true},
	} {
		if c.p.IsAnon() != c.anon || c.p.IsUser() != c.isUser || c.p.IsSuperuser() != c.su {
			t.Errorf("%v: anon %v user %v superuser %v", c.p, c.p.IsAnon(), c.p.IsUser(), c.p.IsSuperuser())
		}
	}
	if !user.Is(userID) || user.Is(suID) || identity.Service.Is(uuid.Nil) {
		t.Error("Is")
	}
}

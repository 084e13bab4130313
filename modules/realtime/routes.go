package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	fws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/httpserver"
)

// Path is the WebSocket endpoint (api.md §10).
const Path = "/api/v1/realtime/ws"

// Routes registers the WebSocket endpoint.
type Routes struct {
	hub     *Hub
	upgrade fiber.Handler
}

var (
	_ httpserver.Routes     = (*Routes)(nil)
	_ httpserver.Public     = (*Routes)(nil)
	_ httpserver.Documented = (*Routes)(nil)
)

// NewRoutes builds the routes. Write buffers come from a pool, so an idle
// connection holds none.
func NewRoutes(h *Hub) *Routes {
	r := &Routes{hub: h}
	r.upgrade = fws.New(h.serve, fws.Config{
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		WriteBufferPool: &sync.Pool{},
		RecoverHandler:  h.recover,
	})
	return r
}

// PublicPrefixes: the upgrade needs no anon key (api.md §10.1; the
// authenticate frame or ?token=/?apikey= identify the client).
func (r *Routes) PublicPrefixes() []string { return []string{Path} }

// Register adds GET /api/v1/realtime/ws.
func (r *Routes) Register(app fiber.Router) { httpserver.Mount(app, r.API()) }

// API describes the WebSocket endpoint (api.md §10).
func (r *Routes) API() httpserver.API {
	return httpserver.API{Tag: "realtime", Description: "Change feeds over WebSocket (api.md §10).", Operations: []httpserver.Operation{
		{Method: fiber.MethodGet, Path: Path, Summary: "Open a realtime WebSocket", Access: httpserver.Anyone,
			Description: "Needs no anon key. After the upgrade: send {\"type\":\"authenticate\",\"token\":\"<access token or anon key>\"} " +
				"(or pass ?token= / ?apikey=), then {\"type\":\"subscribe\",\"subscription_id\":\"s1\",\"data\":{\"table\":\"<table>\"}}; " +
				"changes arrive as {\"type\":\"database_change\",\"subscription_id\",\"event_id\",\"data\":{\"operation\",\"table\",\"data\",\"old_data\"}}. " +
				"A subscriber gets only rows the table's read policy lets it read; subscribe with \"since\": <event_id> to resume.",
			Params: []httpserver.Param{
				httpserver.InQuery("token", "", "An access token: authenticates at once."),
				httpserver.InQuery("apikey", "", "The anon key: authenticates at once as anon."),
			},
			Responses: []httpserver.Response{{Status: fiber.StatusSwitchingProtocols, Description: "The WebSocket upgrade."}},
			Errors:    []*apperr.Error{ErrUpgradeRequired},
			Handlers: httpserver.H(func(c *fiber.Ctx) error {
				if !fws.IsWebSocketUpgrade(c) {
					return ErrUpgradeRequired
				}
				return c.Next()
			}, r.upgrade)},
	}}
}

// recover logs a panic of a connection's reader; the connection ends.
func (h *Hub) recover(*fws.Conn) {
	if e := recover(); e != nil {
		h.logger.Sugar().Errorf("realtime: panic in a connection: %v", e)
	}
}

// serve is one connection's reader: the protocol of api.md §10.1–10.2.
func (h *Hub) serve(ws *fws.Conn) {
	c := &conn{hub: h, ws: ws.Conn, net: ws.NetConn(), subs: map[string]*sub{}}
	defer func() {
		h.removeConn(c)
		c.end()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	alive := 2 * h.cfg.PingInterval
	ws.SetReadLimit(h.cfg.MaxFrameBytes)
	_ = ws.SetReadDeadline(time.Now().Add(min(authWait, alive)))
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(alive)) })

	// ?token= or ?apikey= authenticate at once (EXT).
	if tok := ws.Query("token"); tok != "" {
		if !h.authenticate(ctx, c, tok) {
			return
		}
	} else if key := ws.Query("apikey"); key != "" {
		if !h.authenticate(ctx, c, key) {
			return
		}
	}
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				// The library has answered with 1009 already.
				h.logger.Debug("realtime: frame over REALTIME_MAX_FRAME_BYTES")
			}
			return
		}
		if c.principal() != nil {
			_ = ws.SetReadDeadline(time.Now().Add(alive))
		}
		var f inFrame
		if err := json.Unmarshal(data, &f); err != nil {
			if c.principal() == nil {
				c.send(out{data: authErrorFrame("Authentication required")})
				c.closeWith(ClosePolicy, "authentication required")
				return
			}
			c.send(out{data: errorFrame(ErrInvalidFrame, "")})
			continue
		}
		if c.principal() == nil && f.Type != "authenticate" {
			c.send(out{data: authErrorFrame("Authentication required")})
			c.closeWith(ClosePolicy, "authentication required")
			return
		}
		switch f.Type {
		case "authenticate":
			if !h.authenticate(ctx, c, f.Token) {
				return
			}
			_ = ws.SetReadDeadline(time.Now().Add(alive))
		case "subscribe":
			h.subscribe(ctx, c, &f)
		case "unsubscribe":
			h.unsubscribe(c, &f)
		case "ping":
			c.send(out{data: pongFrame})
		default:
			c.send(out{data: errorFrame(ErrUnknownType, "")})
		}
	}
}

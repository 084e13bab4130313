package httpserver

import (
	"context"
	"crypto/subtle"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/logging"
)

// requestID takes a sane incoming X-Request-ID or makes one, and echoes it.
func requestID(c *fiber.Ctx) error {
	id := c.Get(fiber.HeaderXRequestID)
	if !validRequestID(id) {
		id = uuid.NewString()
	}
	c.Locals(logging.RequestIDKey, id)
	c.Set(fiber.HeaderXRequestID, id)
	return c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if ch <= ' ' || ch >= 0x7f || ch == '"' || ch == '\\' {
			return false
		}
	}
	return true
}

// observer logs each request once and records its metrics. Errors are
// rendered here (through the one ErrorHandler) so the logged status is the
// one sent.
type observer struct {
	log       *zap.Logger
	accessLog bool
	onError   fiber.ErrorHandler
	duration  *prometheus.HistogramVec
	inFlight  prometheus.Gauge
}

func newObserver(log *zap.Logger, accessLog bool, onError fiber.ErrorHandler, reg prometheus.Registerer) *observer {
	o := &observer{
		log: log.Named("http"), accessLog: accessLog, onError: onError,
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "selfdb_http_request_duration_seconds",
			Help:    "HTTP request duration by method, route pattern and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "selfdb_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	reg.MustRegister(o.duration, o.inFlight)
	return o
}

func (o *observer) handle(c *fiber.Ctx) error {
	start := time.Now()
	c.Locals(loggerKey, o.log)
	o.inFlight.Inc()
	defer o.inFlight.Dec()
	if err := c.Next(); err != nil {
		if herr := o.onError(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	status := c.Response().StatusCode()
	elapsed := time.Since(start)
	// Global middleware is mounted at "/": a request that ends there matched no route.
	route := c.Route().Path
	if route == "/" && c.Path() != "/" {
		route = "unmatched"
	}
	o.duration.WithLabelValues(methodLabel(c.Method()), route, strconv.Itoa(status)).Observe(elapsed.Seconds())
	if o.accessLog {
		o.log.Info("request",
			zap.String("request_id", logging.RequestID(c)),
			zap.String("method", c.Method()),
			zap.String("path", c.Path()),
			zap.Int("status", status),
			zap.Duration("latency", elapsed),
			zap.String("ip", c.IP()),
		)
	}
	return nil
}

// methodLabel maps the request method to a constant string. c.Method() points
// into a buffer Fiber reuses for the next request, and Prometheus keeps label
// values for the life of the process, so they must never alias it. Unknown
// methods share one label so that clients cannot grow the series set.
func methodLabel(m string) string {
	for _, known := range fiber.DefaultMethods {
		if m == known {
			return known
		}
	}
	return "OTHER"
}

// publicPath reports the paths that need no anon key (api.md §0.2): the
// platform's own, and the prefixes and paths modules declare (Public).
func publicPath(method, path string, prefixes []string) bool {
	if method == fiber.MethodOptions {
		return true
	}
	switch strings.TrimRight(path, "/") {
	case "/docs", "/redoc", "/openapi.json", "/api/v1/docs", "/api/v1/redoc", "/api/v1/openapi.json",
		"/metrics", "/healthz", "/readyz":
		return true
	}
	if strings.HasPrefix(path, "/static/") {
		return true
	}
	for _, p := range prefixes {
		if strings.HasSuffix(p, "/") {
			if strings.HasPrefix(path, p) {
				return true
			}
		} else if path == p || path == p+"/" {
			return true
		}
	}
	return false
}

// AnonKey returns the key a request carries in any of the four accepted
// places (headers apikey / anon-key, query ?apikey= / ?anon-key=).
func AnonKey(c *fiber.Ctx) string {
	if k := c.Get("apikey"); k != "" {
		return k
	}
	if k := c.Get("anon-key"); k != "" {
		return k
	}
	if k := c.Query("apikey"); k != "" {
		return k
	}
	return c.Query("anon-key")
}

// anonGate refuses requests without the project's anon key.
func anonGate(key string, publicPrefixes []string) fiber.Handler {
	want := []byte(key)
	return func(c *fiber.Ctx) error {
		if publicPath(c.Method(), c.Path(), publicPrefixes) {
			return c.Next()
		}
		if subtle.ConstantTimeCompare([]byte(AnonKey(c)), want) != 1 {
			return ErrAnonKey
		}
		return c.Next()
	}
}

// bodyLimit reads the bodies Fiber streams into memory (handlers parse them
// whole), in chunks, stopping one byte past the limit: BODY_LIMIT_BYTES, or
// the smaller JSON_BODY_LIMIT_BYTES for JSON bodies and bodies without a
// Content-Type (DecodeJSON reads those as JSON). Buffering a whole body
// before checking it let each slow chunked upload of junk hold megabytes.
// Paths under a Streamer's prefixes are left to their handlers.
func bodyLimit(limit, jsonLimit int, streamPrefixes []string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		for _, p := range streamPrefixes {
			if strings.HasPrefix(c.Path(), p) {
				return c.Next()
			}
		}
		req := c.Request()
		max := limit
		if jsonLimit < max && isJSON(string(req.Header.ContentType())) {
			max = jsonLimit
		}
		if req.Header.ContentLength() > max {
			// The unread body can't be followed by another request on this connection.
			c.Response().SetConnectionClose()
			return ErrBodyTooLarge
		}
		if req.IsBodyStream() {
			body, tooLarge, err := readAtMost(req.BodyStream(), max)
			if err != nil {
				return fiber.NewError(fiber.StatusBadRequest, "could not read request body")
			}
			if tooLarge {
				c.Response().SetConnectionClose()
				return ErrBodyTooLarge
			}
			req.SetBodyRaw(body)
		}
		return c.Next()
	}
}

// readAtMost reads r to its end unless it holds more than limit bytes; then
// it stops one byte past the limit and reports tooLarge. The buffer grows
// with what arrives, never past limit+1 bytes.
func readAtMost(r io.Reader, limit int) (body []byte, tooLarge bool, err error) {
	buf := make([]byte, 0, min(limit+1, 32<<10))
	for {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*cap(buf), limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, rerr := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case len(buf) > limit:
			return nil, true, nil
		case rerr == io.EOF:
			return buf, false, nil
		case rerr != nil:
			return nil, false, rerr
		}
	}
}

// dbDeadline gives each request's context a deadline (DB_ACQUIRE_TIMEOUT +
// DB_QUERY_TIMEOUT) so that its database work ends: database/sql waits for
// a pool connection as long as the context allows, and Fiber's never ends.
// Paths under a Streamer's prefixes (uploads streaming for minutes) are
// left to their handlers, which bound their database calls themselves.
func dbDeadline(d time.Duration, streamPrefixes []string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		for _, p := range streamPrefixes {
			if strings.HasPrefix(c.Path(), p) {
				return c.Next()
			}
		}
		ctx, cancel := context.WithTimeout(c.UserContext(), d)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}

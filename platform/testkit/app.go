package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/selfdb/selfdb/platform"
	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/events"
	"github.com/selfdb/selfdb/platform/httpserver"
)

// AnonKey is the anon key of every test app.
const AnonKey = "test-anon-key"

// SecretKey is the JWT secret of every test app.
const SecretKey = "test-secret-key-that-is-long-enough-0123456789"

// App is a started in-process SelfDB.
type App struct {
	Fiber  *fiber.App
	DB     *bun.DB
	Cache  *cache.Cache
	Config *config.Config
	Bus    *events.Bus
	Log    *events.Log
	ln     *httpserver.Listener
	stop   func() error
}

type settings struct {
	env     map[string]string
	options []fx.Option
	logs    bool
	logger  *zap.Logger
}

// Option changes how Start builds the app.
type Option func(*settings)

// Env sets configuration variables (over the test defaults).
func Env(kv ...string) Option {
	return func(s *settings) {
		for i := 0; i+1 < len(kv); i += 2 {
			s.env[kv[i]] = kv[i+1]
		}
	}
}

// With adds Fx options: the modules under test, fx.Populate targets, ...
func With(opts ...fx.Option) Option {
	return func(s *settings) { s.options = append(s.options, opts...) }
}

// Logs sends the app's logs to the test log (quiet by default).
func Logs() Option { return func(s *settings) { s.logs = true } }

// Logger makes l the app's logger (a zaptest/observer core lets a test
// read what was logged).
func Logger(l *zap.Logger) Option { return func(s *settings) { s.logger = l } }

// TestEnv is the configuration every test app starts from.
func TestEnv(t testing.TB) map[string]string {
	return map[string]string{
		"SELFDB_ENV":             "development",
		"DATABASE_URL":           packageDBURL,
		"MEMCACHED_ADDR":         memcachedURL,
		"CACHE_PREFIX":           "t" + randHex(6) + ":",
		"ANON_KEY":               AnonKey,
		"SECRET_KEY":             SecretKey,
		"API_HOST":               "127.0.0.1",
		"API_PORT":               "0",
		"BCRYPT_COST":            "4",
		"MIGRATE_ON_START":       "false",
		"STORAGE_PATH":           t.TempDir(),
		"ACCESS_LOG":             "false",
		"DEFAULT_ADMIN_EMAIL":    "admin@example.com",
		"DEFAULT_ADMIN_PASSWORD": "adminpassword",
		"PUBLIC_URL":             "http://selfdb.test",
	}
}

// Start builds and starts an app made of platform.Module plus opts, stopped
// when the test ends.
func Start(t testing.TB, opts ...Option) *App {
	t.Helper()
	return start(t, TestEnv(t), opts)
}

// StartN starts n instances of the same app on one database, one memcached
// (one key prefix) and one storage directory: N processes behind a load
// balancer, in one test process.
func StartN(t testing.TB, n int, opts ...Option) []*App {
	t.Helper()
	env := TestEnv(t)
	apps := make([]*App, n)
	for i := range apps {
		apps[i] = start(t, maps.Clone(env), opts)
	}
	return apps
}

func start(t testing.TB, env map[string]string, opts []Option) *App {
	t.Helper()
	s := &settings{env: env}
	for _, o := range opts {
		o(s)
	}
	cfg, err := config.Parse(s.env)
	if err != nil {
		t.Fatalf("testkit: config: %v", err)
	}
	log := zap.NewNop()
	switch {
	case s.logger != nil:
		log = s.logger
	case s.logs:
		log = zaptest.NewLogger(t)
	}
	a := &App{Config: cfg}
	fxOpts := append([]fx.Option{
		platform.Module,
		fx.Replace(cfg, log),
		fx.NopLogger,
		fx.Populate(&a.Fiber, &a.DB, &a.Cache, &a.ln, &a.Bus, &a.Log),
	}, s.options...)
	app := fx.New(fxOpts...)
	if err := app.Err(); err != nil {
		t.Fatalf("testkit: build app: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatalf("testkit: start app: %v", err)
	}
	// Changes committed before the change-log reader is live are history,
	// never delivered: a test's first change must come after it (unless the
	// database has no change log yet: a test of migrations).
	var migrated bool
	if err := a.DB.QueryRowContext(ctx, "SELECT to_regclass('selfdb.change_log') IS NOT NULL").Scan(&migrated); err != nil {
		migrated = true
	}
	for deadline := time.Now().Add(10 * time.Second); migrated && !a.Bus.Live(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = app.Stop(context.Background())
			t.Fatal("testkit: the change-log reader did not go live within 10s")
		}
	}
	a.stop = sync.OnceValue(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return app.Stop(ctx)
	})
	t.Cleanup(func() {
		if err := a.stop(); err != nil {
			t.Errorf("testkit: stop app: %v", err)
		}
	})
	return a
}

// Stop stops the app now (as SIGTERM would) and returns what its stop hooks
// reported; the test's cleanup then does nothing more.
func (a *App) Stop() error { return a.stop() }

// Sync waits until the app has heard every change committed so far in the
// change log (what it caches from events is then current): call it after
// changing the database behind the app's back.
func (a *App) Sync(t testing.TB) {
	t.Helper()
	if err := events.Sync(context.Background(), a.Log, a.Bus, 10*time.Second); err != nil {
		t.Fatalf("testkit: sync with the change log: %v", err)
	}
}

// URL is the app's real listener, for clients that need a socket.
func (a *App) URL() string { return "http://" + a.ln.Addr().String() }

// Response is a finished request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it isn't JSON.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, r.Body)
	}
}

// Map decodes a JSON object body.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Req describes one request.
type Req struct {
	Method string
	Path   string
	// Token is sent as a Bearer token when set.
	Token string
	// NoKey leaves the anon key out.
	NoKey   bool
	Headers map[string]string
	// Body: []byte and string go as they are; Form as urlencoded; Multipart as
	// multipart/form-data; anything else as JSON.
	Body any
}

// Form is a body sent as application/x-www-form-urlencoded.
type Form map[string]string

// Multipart is a body sent as multipart/form-data; File fields are "file".
type Multipart struct {
	Fields   map[string]string
	FileName string
	File     []byte
}

// Do sends one request through the in-process stack.
func (a *App) Do(t testing.TB, r Req) *Response {
	t.Helper()
	req := BuildRequest(t, r)
	resp, err := a.Fiber.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// BuildRequest turns a Req into an *http.Request for the in-process app.
func BuildRequest(t testing.TB, r Req) *http.Request {
	t.Helper()
	var body io.Reader
	ctype := ""
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = strings.NewReader(b)
	case Form:
		v := url.Values{}
		for k, val := range b {
			v.Set(k, val)
		}
		body, ctype = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	case Multipart:
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, v := range b.Fields {
			_ = w.WriteField(k, v)
		}
		if b.FileName != "" {
			fw, _ := w.CreateFormFile("file", b.FileName)
			_, _ = fw.Write(b.File)
		}
		_ = w.Close()
		body, ctype = &buf, w.FormDataContentType()
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		body, ctype = bytes.NewReader(j), "application/json"
	}
	req := httptest.NewRequest(r.Method, r.Path, body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if !r.NoKey {
		req.Header.Set("apikey", AnonKey)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	return req
}

// Get is Do for a GET with the anon key and an optional token.
func (a *App) Get(t testing.TB, path, token string) *Response {
	t.Helper()
	return a.Do(t, Req{Method: http.MethodGet, Path: path, Token: token})
}

// Expect fails the test unless the status is want, showing the body.
func (r *Response) Expect(t testing.TB, want int) *Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %s", r.Status, want, r.Body)
	}
	return r
}

func (r *Response) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

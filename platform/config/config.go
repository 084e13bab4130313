package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is the whole server's configuration. Field tags name the environment
// variable and its default.
type Config struct {
	// environ is where the configuration was read from (nil: the process
	// environment); modules read their sections from the same place.
	environ map[string]string

	// Env is "production" (default) or "development"; development relaxes the
	// start-up refusals for default secrets.
	Env string `env:"SELFDB_ENV" envDefault:"production"`

	APIHost   string `env:"API_HOST" envDefault:"0.0.0.0"`
	APIPort   int    `env:"API_PORT" envDefault:"8000"`
	AnonKey   string `env:"ANON_KEY"`
	PublicURL string `env:"PUBLIC_URL"`
	// StorageServiceExternalURL is the Python version's name for PublicURL, read as a fallback.
	StorageServiceExternalURL string        `env:"STORAGE_SERVICE_EXTERNAL_URL"`
	CORSOrigins               string        `env:"CORS_ORIGINS" envDefault:"*"`
	BodyLimitBytes            int           `env:"BODY_LIMIT_BYTES" envDefault:"10485760"`
	JSONBodyLimitBytes        int           `env:"JSON_BODY_LIMIT_BYTES" envDefault:"1048576"`
	MaxUploadBytes            int64         `env:"MAX_UPLOAD_BYTES" envDefault:"5368709120"`
	ReadTimeout               time.Duration `env:"HTTP_READ_TIMEOUT" envDefault:"60s"`
	// ReadBufferBytes is each connection's read buffer, which bounds a
	// request's headers (431 past it); a WebSocket keeps it for its life.
	ReadBufferBytes int           `env:"HTTP_READ_BUFFER_BYTES" envDefault:"16384"`
	IdleTimeout     time.Duration `env:"HTTP_IDLE_TIMEOUT" envDefault:"120s"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s"`
	MetricsEnabled  bool          `env:"METRICS_ENABLED" envDefault:"true"`
	AccessLog       bool          `env:"ACCESS_LOG" envDefault:"true"`
	AdminAddr       string        `env:"ADMIN_ADDR"`

	LogLevel  string `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat string `env:"LOG_FORMAT" envDefault:"json"`

	DatabaseURL       string        `env:"DATABASE_URL" envDefault:"postgres://postgres:postgres@localhost:5432/selfdb?sslmode=disable"`
	DBMaxOpenConns    int           `env:"DB_MAX_OPEN_CONNS"`
	DBMaxIdleConns    int           `env:"DB_MAX_IDLE_CONNS"`
	DBConnMaxLifetime time.Duration `env:"DB_CONN_MAX_LIFETIME" envDefault:"30m"`
	DBDialTimeout     time.Duration `env:"DB_DIAL_TIMEOUT" envDefault:"2s"`
	// DBReadTimeout bounds one round trip of the connections that may run
	// long: the SQL console's, migrations' and the CLI's.
	DBReadTimeout time.Duration `env:"DB_READ_TIMEOUT" envDefault:"60s"`
	// DBAcquireTimeout bounds a request's wait for a free pool connection.
	DBAcquireTimeout time.Duration `env:"DB_ACQUIRE_TIMEOUT" envDefault:"2s"`
	// DBQueryTimeout bounds one statement of an API request (Postgres'
	// statement_timeout, and how long the server waits for an answer).
	DBQueryTimeout time.Duration `env:"DB_QUERY_TIMEOUT" envDefault:"5s"`
	DBStartTimeout time.Duration `env:"DB_START_TIMEOUT" envDefault:"10s"`
	MigrateOnStart bool          `env:"MIGRATE_ON_START" envDefault:"true"`

	MemcachedAddr    string        `env:"MEMCACHED_ADDR" envDefault:"localhost:11211"`
	MemcachedTimeout time.Duration `env:"MEMCACHED_TIMEOUT" envDefault:"100ms"`
	CacheTTL         int           `env:"CACHE_TTL" envDefault:"300"`
	CachePrefix      string        `env:"CACHE_PREFIX" envDefault:"selfdb:v1:"`

	SecretKey                string `env:"SECRET_KEY"`
	AccessTokenExpireMinutes int    `env:"ACCESS_TOKEN_EXPIRE_MINUTES" envDefault:"60"`
	RefreshTokenExpireDays   int    `env:"REFRESH_TOKEN_EXPIRE_DAYS" envDefault:"30"`
	AuthRefreshRotation      bool   `env:"AUTH_REFRESH_ROTATION" envDefault:"false"`
	// AuthAllowSignup opens POST /auth/register to anyone; false leaves
	// creating users to superusers (POST /users).
	AuthAllowSignup      bool   `env:"AUTH_ALLOW_SIGNUP" envDefault:"true"`
	BcryptCost           int    `env:"BCRYPT_COST" envDefault:"12"`
	DefaultAdminEmail    string `env:"DEFAULT_ADMIN_EMAIL" envDefault:"admin@example.com"`
	DefaultAdminPassword string `env:"DEFAULT_ADMIN_PASSWORD" envDefault:"adminpassword"`

	// AuthAcceptLegacyTokens accepts the Python version's access tokens
	// (HS256 with the same SECRET_KEY, sub = the user's email) until they
	// expire: for the cut-over from a Python deployment (selfdb import-python).
	AuthAcceptLegacyTokens bool `env:"AUTH_ACCEPT_LEGACY_TOKENS" envDefault:"false"`

	// auth: rate limits (fixed windows, counters shared in memcached) and
	// refresh-token housekeeping.
	AuthRateLimitWindow          time.Duration `env:"AUTH_RATE_LIMIT_WINDOW" envDefault:"15m"`
	AuthLoginMaxFailuresPerEmail int           `env:"AUTH_LOGIN_MAX_FAILURES_PER_EMAIL" envDefault:"10"`
	AuthLoginMaxPerIP            int           `env:"AUTH_LOGIN_MAX_PER_IP" envDefault:"300"`
	AuthRegisterMaxPerEmail      int           `env:"AUTH_REGISTER_MAX_PER_EMAIL" envDefault:"10"`
	AuthRegisterMaxPerIP         int           `env:"AUTH_REGISTER_MAX_PER_IP" envDefault:"100"`
	AuthRefreshMaxPerIP          int           `env:"AUTH_REFRESH_MAX_PER_IP" envDefault:"600"`
	AuthRefreshReuseGrace        time.Duration `env:"AUTH_REFRESH_REUSE_GRACE" envDefault:"10s"`
	AuthTokenPurgeInterval       time.Duration `env:"AUTH_TOKEN_PURGE_INTERVAL" envDefault:"1h"`

	// StoragePath defaults to where `make run` keeps everything (.data/);
	// it was ./data/storage before (files warns when bytes are left there).
	StoragePath string `env:"STORAGE_PATH" envDefault:".data/storage"`

	// tables (modules/tables, modules/sqlconsole): the SQL console's limits.
	SQLStatementTimeout time.Duration `env:"SQL_STATEMENT_TIMEOUT" envDefault:"30s"`
	SQLRowCap           int           `env:"SQL_ROW_CAP" envDefault:"10000"`
	// SQLConsoleMaxConns sizes the console's own pool, apart from the API's.
	SQLConsoleMaxConns int `env:"SQL_CONSOLE_MAX_CONNS" envDefault:"4"`

	// files (modules/files): signed URL lifetimes and the storage janitor.
	SignedURLTTL           time.Duration `env:"SIGNED_URL_TTL" envDefault:"1h"`
	DownloadURLTTL         time.Duration `env:"DOWNLOAD_URL_TTL" envDefault:"15m"`
	StorageCleanupInterval time.Duration `env:"STORAGE_CLEANUP_INTERVAL" envDefault:"5m"`
	// FilesPublicURL is the base URL of a separate origin serving the same
	// byte routes; download and view URLs use it, and only there are active
	// files (HTML, SVG, ...) shown inline.
	FilesPublicURL string `env:"FILES_PUBLIC_URL"`

	// events (platform/events): how long the change log keeps changes, the
	// window in which realtime clients resume with "since".
	RealtimeRetention time.Duration `env:"REALTIME_RETENTION" envDefault:"24h"`
}

// Load reads the environment and validates the result.
func Load() (*Config, error) {
	return Parse(nil)
}

// Parse reads the configuration from environ (nil: the process environment)
// and validates it.
func Parse(environ map[string]string) (*Config, error) {
	cfg := &Config{environ: environ}
	opts := env.Options{}
	if environ != nil {
		opts.Environment = environ
	}
	if err := env.ParseWithOptions(cfg, opts); err != nil {
		return nil, describe(err, Variables())
	}
	// The env library applies defaults to set-but-empty variables; an
	// explicitly empty MEMCACHED_ADDR means "no cache".
	if v, ok := lookup(environ, "MEMCACHED_ADDR"); ok && strings.TrimSpace(v) == "" {
		cfg.MemcachedAddr = ""
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func lookup(environ map[string]string, name string) (string, bool) {
	if environ != nil {
		v, ok := environ[name]
		return v, ok
	}
	return os.LookupEnv(name)
}

// describe rewrites caarlos0/env's errors so that each names the variable
// (vars maps field names to variables).
func describe(err error, vars []Variable) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("config: %w", err)
	}
	msgs := make([]string, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			msgs = append(msgs, fmt.Sprintf("%s: invalid value (%v)", envName(vars, pe.Name), pe.Err))
			continue
		}
		msgs = append(msgs, e.Error())
	}
	return fmt.Errorf("config: %s", strings.Join(msgs, "; "))
}

// envName maps a field name to its variable.
func envName(vars []Variable, field string) string {
	for _, v := range vars {
		if v.Field == field {
			return v.Name
		}
	}
	return field
}

// Dev reports whether the server runs in development mode.
func (c *Config) Dev() bool { return c.Env == "development" || c.Env == "dev" }

// Validate checks values that the types alone don't.
func (c *Config) Validate() error {
	var errs []string
	bad := func(name, format string, args ...any) {
		errs = append(errs, name+": "+fmt.Sprintf(format, args...))
	}
	switch c.Env {
	case "production", "development", "dev":
	default:
		bad("SELFDB_ENV", "must be production or development, got %q", c.Env)
	}
	if c.APIPort < 0 || c.APIPort > 65535 {
		bad("API_PORT", "must be 0-65535, got %d", c.APIPort)
	}
	if c.AnonKey == "" {
		bad("ANON_KEY", "is required")
	}
	if _, err := NormalizeDatabaseURL(c.DatabaseURL); err != nil {
		bad("DATABASE_URL", "%v", err)
	}
	if c.PublicBaseURL() != "" {
		if u, err := url.Parse(c.PublicBaseURL()); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("PUBLIC_URL", "must be an absolute http(s) URL, got %q", c.PublicBaseURL())
		}
	}
	if f := c.FilesBaseURL(); f != "" {
		u, err := url.Parse(f)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
			bad("FILES_PUBLIC_URL", "must be an absolute http(s) URL without query, got %q", f)
		case c.PublicBaseURL() != "" && sameOrigin(u, c.PublicBaseURL()):
			bad("FILES_PUBLIC_URL", "must be another origin than PUBLIC_URL (user content shown there could script the API's origin), got %q", f)
		}
	}
	if c.ReadBufferBytes < 4096 || c.ReadBufferBytes > 1<<20 {
		bad("HTTP_READ_BUFFER_BYTES", "must be 4096-1048576, got %d", c.ReadBufferBytes)
	}
	if c.BodyLimitBytes <= 0 {
		bad("BODY_LIMIT_BYTES", "must be positive")
	}
	if c.JSONBodyLimitBytes <= 0 {
		bad("JSON_BODY_LIMIT_BYTES", "must be positive")
	}
	if c.MaxUploadBytes <= 0 {
		bad("MAX_UPLOAD_BYTES", "must be positive")
	}
	if c.DBMaxOpenConns < 0 {
		bad("DB_MAX_OPEN_CONNS", "must not be negative")
	}
	if c.DBMaxIdleConns < 0 {
		bad("DB_MAX_IDLE_CONNS", "must not be negative")
	}
	if c.DBAcquireTimeout <= 0 {
		bad("DB_ACQUIRE_TIMEOUT", "must be positive")
	}
	if c.DBQueryTimeout < time.Millisecond {
		bad("DB_QUERY_TIMEOUT", "must be at least 1ms")
	}
	if c.SQLConsoleMaxConns <= 0 {
		bad("SQL_CONSOLE_MAX_CONNS", "must be positive")
	}
	if c.CacheTTL <= 0 {
		bad("CACHE_TTL", "must be positive seconds")
	}
	if c.MemcachedTimeout <= 0 {
		bad("MEMCACHED_TIMEOUT", "must be positive")
	}
	switch c.LogFormat {
	case "json", "console":
	default:
		bad("LOG_FORMAT", "must be json or console, got %q", c.LogFormat)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "warning", "error":
	default:
		bad("LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.AccessTokenExpireMinutes <= 0 {
		bad("ACCESS_TOKEN_EXPIRE_MINUTES", "must be positive")
	}
	if c.RefreshTokenExpireDays <= 0 {
		bad("REFRESH_TOKEN_EXPIRE_DAYS", "must be positive")
	}
	if c.BcryptCost < 4 || c.BcryptCost > 31 {
		bad("BCRYPT_COST", "must be 4-31, got %d", c.BcryptCost)
	}
	if c.StoragePath == "" {
		bad("STORAGE_PATH", "is required")
	}
	// auth
	for _, v := range []struct {
		name string
		n    int
	}{
		{"AUTH_LOGIN_MAX_FAILURES_PER_EMAIL", c.AuthLoginMaxFailuresPerEmail},
		{"AUTH_LOGIN_MAX_PER_IP", c.AuthLoginMaxPerIP},
		{"AUTH_REGISTER_MAX_PER_EMAIL", c.AuthRegisterMaxPerEmail},
		{"AUTH_REGISTER_MAX_PER_IP", c.AuthRegisterMaxPerIP},
		{"AUTH_REFRESH_MAX_PER_IP", c.AuthRefreshMaxPerIP},
	} {
		if v.n <= 0 {
			bad(v.name, "must be positive")
		}
	}
	if c.AuthRateLimitWindow < time.Second {
		bad("AUTH_RATE_LIMIT_WINDOW", "must be at least 1s")
	}
	if c.AuthRefreshReuseGrace < 0 {
		bad("AUTH_REFRESH_REUSE_GRACE", "must not be negative")
	}
	if c.AuthTokenPurgeInterval <= 0 {
		bad("AUTH_TOKEN_PURGE_INTERVAL", "must be positive")
	}
	if c.SignedURLTTL <= 0 {
		bad("SIGNED_URL_TTL", "must be positive")
	}
	if c.DownloadURLTTL <= 0 {
		bad("DOWNLOAD_URL_TTL", "must be positive")
	}
	if c.StorageCleanupInterval <= 0 {
		bad("STORAGE_CLEANUP_INTERVAL", "must be positive")
	}
	if c.RealtimeRetention < time.Minute {
		bad("REALTIME_RETENTION", "must be at least 1m")
	}
	if !c.Dev() {
		if len(c.SecretKey) < 32 {
			bad("SECRET_KEY", "must be at least 32 characters outside development mode (generate one with `openssl rand -hex 32`)")
		}
		if c.DefaultAdminPassword == "adminpassword" {
			bad("DEFAULT_ADMIN_PASSWORD", "must not be the well-known default outside development mode")
		}
	} else if c.SecretKey == "" {
		bad("SECRET_KEY", "is required")
	}
	if len(errs) > 0 {
		return errors.New("config: " + strings.Join(errs, "; "))
	}
	return nil
}

// Addr is the HTTP listen address.
func (c *Config) Addr() string { return fmt.Sprintf("%s:%d", c.APIHost, c.APIPort) }

// PublicBaseURL is the base of absolute URLs handed to clients, without a
// trailing slash: PUBLIC_URL, else STORAGE_SERVICE_EXTERNAL_URL, else empty
// (callers then use the request's own scheme and host).
func (c *Config) PublicBaseURL() string {
	u := c.PublicURL
	if u == "" {
		u = c.StorageServiceExternalURL
	}
	return strings.TrimRight(u, "/")
}

// FilesBaseURL is FILES_PUBLIC_URL without a trailing slash, or empty.
func (c *Config) FilesBaseURL() string { return strings.TrimRight(c.FilesPublicURL, "/") }

// sameOrigin reports whether u and the URL other share scheme, host and port.
func sameOrigin(u *url.URL, other string) bool {
	o, err := url.Parse(other)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Scheme, o.Scheme) && strings.EqualFold(u.Hostname(), o.Hostname()) && port(u) == port(o)
}

// port is u's port, or its scheme's default.
func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// MemcachedServers is the parsed MEMCACHED_ADDR list; empty disables the cache.
func (c *Config) MemcachedServers() []string {
	var out []string
	for _, s := range strings.Split(c.MemcachedAddr, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// MaxOpenConns is DB_MAX_OPEN_CONNS, or 4×GOMAXPROCS when unset.
func (c *Config) MaxOpenConns() int {
	if c.DBMaxOpenConns > 0 {
		return c.DBMaxOpenConns
	}
	return 4 * runtime.GOMAXPROCS(0)
}

// MaxIdleConns is DB_MAX_IDLE_CONNS, or MaxOpenConns when unset.
func (c *Config) MaxIdleConns() int {
	if c.DBMaxIdleConns > 0 {
		return c.DBMaxIdleConns
	}
	return c.MaxOpenConns()
}

// DBRequestTimeout bounds the database work of one API request: waiting
// for a connection, then its statements. Requests get it as their
// context's deadline (streamed uploads bound their database calls with it).
func (c *Config) DBRequestTimeout() time.Duration { return c.DBAcquireTimeout + c.DBQueryTimeout }

// CacheTTLDuration is CACHE_TTL as a duration.
func (c *Config) CacheTTLDuration() time.Duration { return time.Duration(c.CacheTTL) * time.Second }

// NormalizeDatabaseURL accepts postgresql://, postgres:// and the Python
// version's postgresql+asyncpg:// and returns a postgres:// URL for pgdriver.
func NormalizeDatabaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("not a URL")
	}
	switch u.Scheme {
	case "postgres", "postgresql", "postgresql+asyncpg", "postgres+asyncpg":
		u.Scheme = "postgres"
	default:
		return "", fmt.Errorf("scheme must be postgresql:// or postgres://, got %q", u.Scheme)
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return "", fmt.Errorf("host is missing")
	}
	q := u.Query()
	// pgdriver defaults to TLS; local and compose deployments don't use it.
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

package config_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/selfdb/selfdb/platform/config"
)

func base() map[string]string {
	return map[string]string{
		"ANON_KEY":               "anon",
		"SECRET_KEY":             strings.Repeat("s", 32),
		"DEFAULT_ADMIN_PASSWORD": "a-real-password",
	}
}

// Every variable in code is documented, with the same default, in the example file.
func TestExampleEnvDocumentsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../configs/selfdb.example.env")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^([A-Z][A-Z0-9_]*)=(.*)$`).FindAllStringSubmatch(string(b), -1) {
		documented[m[1]] = m[2]
	}
	for _, v := range config.Variables() {
		got, ok := documented[v.Name]
		if !ok {
			t.Errorf("%s is read by the server but not documented in configs/selfdb.example.env", v.Name)
			continue
		}
		if v.Default != "" && got != v.Default {
			t.Errorf("%s: example says %q, code default is %q", v.Name, got, v.Default)
		}
	}
	if len(config.Variables()) < 30 {
		t.Errorf("only %d variables found; the reflection walk is broken", len(config.Variables()))
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	cases := map[string]string{
		"API_PORT":              "eighty",
		"CACHE_TTL":             "-1",
		"LOG_FORMAT":            "xml",
		"DATABASE_URL":          "mysql://x/y",
		"SELFDB_ENV":            "staging",
		"BCRYPT_COST":           "99",
		"DB_DIAL_TIMEOUT":       "soon",
		"PUBLIC_URL":            "not a url",
		"MAX_UPLOAD_BYTES":      "0",
		"JSON_BODY_LIMIT_BYTES": "0",
		"ANON_KEY":              "",
		"AUTH_REFRESH_ROTATION": "maybe",
		"AUTH_ALLOW_SIGNUP":     "maybe",
		"FILES_PUBLIC_URL":      "files.example.com",
		"DB_ACQUIRE_TIMEOUT":    "0s",
		"DB_QUERY_TIMEOUT":      "500us",
		"SQL_CONSOLE_MAX_CONNS": "0",
	}
	for name, val := range cases {
		env := base()
		env[name] = val
		_, err := config.Parse(env)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v does not name the variable", name, val, err)
		}
	}
}

func TestProductionRefusesDefaults(t *testing.T) {
	env := base()
	env["DEFAULT_ADMIN_PASSWORD"] = "adminpassword"
	if _, err := config.Parse(env); err == nil || !strings.Contains(err.Error(), "DEFAULT_ADMIN_PASSWORD") {
		t.Errorf("default admin password accepted in production: %v", err)
	}
	env = base()
	env["SECRET_KEY"] = "short"
	if _, err := config.Parse(env); err == nil || !strings.Contains(err.Error(), "SECRET_KEY") {
		t.Errorf("weak secret accepted in production: %v", err)
	}
	env = base()
	env["SELFDB_ENV"] = "development"
	env["DEFAULT_ADMIN_PASSWORD"] = "adminpassword"
	if _, err := config.Parse(env); err != nil {
		t.Errorf("development mode refused defaults: %v", err)
	}
	if _, err := config.Parse(base()); err != nil {
		t.Errorf("valid production config refused: %v", err)
	}
}

func TestNormalizeDatabaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgresql://u:p@h:5432/db":              "postgres://u:p@h:5432/db?sslmode=disable",
		"postgres://u@h/db?sslmode=require":       "postgres://u@h/db?sslmode=require",
		"postgresql+asyncpg://u:p@db:5432/selfdb": "postgres://u:p@db:5432/selfdb?sslmode=disable",
	} {
		got, err := config.NormalizeDatabaseURL(in)
		if err != nil || got != want {
			t.Errorf("%s → %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"mysql://h/db", "postgres:///db", "::"} {
		if _, err := config.NormalizeDatabaseURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestDerived(t *testing.T) {
	env := base()
	env["MEMCACHED_ADDR"] = " a:1, b:2 ,"
	env["STORAGE_SERVICE_EXTERNAL_URL"] = "https://files.example/"
	cfg, err := config.Parse(env)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.MemcachedServers(); len(s) != 2 || s[0] != "a:1" || s[1] != "b:2" {
		t.Errorf("servers %v", s)
	}
	if cfg.PublicBaseURL() != "https://files.example" {
		t.Errorf("fallback public URL %q", cfg.PublicBaseURL())
	}
	if cfg.MaxOpenConns() <= 0 || cfg.MaxIdleConns() != cfg.MaxOpenConns() {
		t.Errorf("pool %d/%d", cfg.MaxOpenConns(), cfg.MaxIdleConns())
	}
}

func TestEmptyMemcachedAddrDisablesCache(t *testing.T) {
	env := base()
	env["MEMCACHED_ADDR"] = ""
	cfg, err := config.Parse(env)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.MemcachedServers()) != 0 {
		t.Errorf("empty MEMCACHED_ADDR gave servers %v", cfg.MemcachedServers())
	}
	cfg, err = config.Parse(base())
	if err != nil || len(cfg.MemcachedServers()) != 1 {
		t.Errorf("unset MEMCACHED_ADDR should default to localhost: %v %v", cfg.MemcachedServers(), err)
	}
}

// FILES_PUBLIC_URL exists to keep user content off the API's origin: it must
// be an absolute URL of another origin.
func TestFilesPublicURL(t *testing.T) {
	for _, bad := range []string{"ftp://files.example.com", "https://files.example.com/?x=1", "https://DB.example.com:443/files", "https://db.example.com"} {
		env := base()
		env["PUBLIC_URL"] = "https://db.example.com"
		env["FILES_PUBLIC_URL"] = bad
		if _, err := config.Parse(env); err == nil || !strings.Contains(err.Error(), "FILES_PUBLIC_URL") {
			t.Errorf("FILES_PUBLIC_URL=%q: %v", bad, err)
		}
	}
	env := base()
	env["PUBLIC_URL"] = "https://db.example.com"
	env["FILES_PUBLIC_URL"] = "https://files.example.net/"
	cfg, err := config.Parse(env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.FilesBaseURL() != "https://files.example.net" {
		t.Errorf("FilesBaseURL %q", cfg.FilesBaseURL())
	}
	env["FILES_PUBLIC_URL"] = "http://db.example.com:8080"
	if _, err := config.Parse(env); err != nil {
		t.Errorf("another port is another origin: %v", err)
	}
}

// STORAGE_PATH has one default, under .data/ where `make run` keeps its
// state: .ci/dev.sh leaves it to the server instead of setting its own.
func TestStoragePathHasOneDefault(t *testing.T) {
	for _, v := range config.Variables() {
		if v.Name == "STORAGE_PATH" && v.Default != ".data/storage" {
			t.Errorf("STORAGE_PATH defaults to %q, want .data/storage (make run's)", v.Default)
		}
	}
	b, err := os.ReadFile("../../.ci/dev.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nDATA=.data\n") {
		t.Error(".ci/dev.sh no longer keeps its state in .data")
	}
	if regexp.MustCompile(`(?m)^[^#]*STORAGE_PATH=`).Match(b) {
		t.Error(".ci/dev.sh sets STORAGE_PATH itself: the default lives in platform/config")
	}
}

type sectionForTest struct {
	Limit  int           `env:"TEST_SECTION_LIMIT" envDefault:"5"`
	Period time.Duration `env:"TEST_SECTION_PERIOD" envDefault:"1m"`
}

func (s *sectionForTest) Validate() error {
	if s.Limit <= 0 {
		return fmt.Errorf("TEST_SECTION_LIMIT: must be positive")
	}
	return nil
}

// A module's section is read from the environment Config was parsed from,
// with its defaults, and its errors name the variable.
func TestSection(t *testing.T) {
	env := base()
	env["TEST_SECTION_LIMIT"] = "7"
	cfg, err := config.Parse(env)
	if err != nil {
		t.Fatal(err)
	}
	var s sectionForTest
	if err := cfg.Section(&s); err != nil || s.Limit != 7 || s.Period != time.Minute {
		t.Fatalf("section %+v, %v", s, err)
	}
	for name, val := range map[string]string{"TEST_SECTION_LIMIT": "0", "TEST_SECTION_PERIOD": "soon"} {
		env := base()
		env[name] = val
		cfg, err := config.Parse(env)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Section(&sectionForTest{}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v does not name the variable", name, val, err)
		}
	}
	vars := config.VariablesOf(&sectionForTest{})
	if len(vars) != 2 || vars[0].Name != "TEST_SECTION_LIMIT" || vars[1].Default != "1m" {
		t.Fatalf("variables %+v", vars)
	}
	got := config.Undocumented("# doc\nTEST_SECTION_LIMIT=6\n", vars)
	if len(got) != 2 || !strings.Contains(got[0], "TEST_SECTION_LIMIT") || !strings.Contains(got[1], "TEST_SECTION_PERIOD") {
		t.Fatalf("undocumented: %q", got)
	}
}

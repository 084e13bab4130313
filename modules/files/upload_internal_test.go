package files

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/selfdb/selfdb/platform/config"
)

// An upload is cut off after timeout without a byte, never while bytes keep
// coming more often than that: the temp-file cutoff relies on both.
func TestDeadlineReaderIsAnInactivityLimit(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	d := &deadlineReader{r: server, conn: server, timeout: 200 * time.Millisecond}
	const sent = 10
	go func() {
		for i := 0; i < sent; i++ {
			time.Sleep(60 * time.Millisecond)
			if _, err := client.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 8)
	for got := 0; got < sent; {
		n, err := d.Read(buf)
		if err != nil {
			t.Fatalf("a byte every 60ms with a 200ms limit: cut off after %d bytes: %v", got, err)
		}
		got += n
	}
	start := time.Now()
	if _, err := d.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("silence: %v, want a deadline error", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("silence ended the read only after %v", waited)
	}
}

func TestTempCutoffFollowsTheReadTimeout(t *testing.T) {
	for timeout, want := range map[time.Duration]time.Duration{
		60 * time.Second:       120 * time.Second,
		500 * time.Millisecond: 2500 * time.Millisecond,
		0:                      20 * time.Minute, // no read timeout: uploads still end after 10m of silence
	} {
		cfg := &config.Config{ReadTimeout: timeout}
		if got := staleTempAge(cfg); got != want {
			t.Errorf("HTTP_READ_TIMEOUT=%v: cutoff %v, want %v", timeout, got, want)
		}
	}
	if got := uploadIdleLimit(&config.Config{}); got != 10*time.Minute {
		t.Errorf("idle limit without a read timeout: %v", got)
	}
}

// The temp sweep needs no database: at start, dead temp files go even while
// the database is unreachable.
func TestCleanupSweepsTempsWithoutTheDatabase(t *testing.T) {
	store := newStore(t)
	dir := filepath.Join(store.Root(), uuid.NewString())
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	temp := filepath.Join(dir, tempPrefix+"crashed"+tempSuffix)
	if err := os.WriteFile(temp, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(temp, old, old); err != nil {
		t.Fatal(err)
	}
	// Nothing listens on port 1: every query fails at once.
	unreachable := bun.NewDB(sql.OpenDB(pgdriver.NewConnector(
		pgdriver.WithDSN("postgres://selfdb@127.0.0.1:1/selfdb?sslmode=disable"), pgdriver.WithDialTimeout(time.Second))), pgdialect.New())
	defer unreachable.Close()
	s := &Service{db: unreachable, store: store, cfg: &config.Config{ReadTimeout: time.Minute}}
	if _, err := s.Cleanup(context.Background(), time.Now()); err == nil {
		t.Error("Cleanup reported no error with the database unreachable")
	}
	if _, err := os.Stat(temp); !os.IsNotExist(err) {
		t.Errorf("a temp file dead for an hour survived a cleanup without the database: %v", err)
	}
}

// Without a read timeout an upload still gets an inactivity limit, or a temp
// file's age could never prove its upload dead.
func TestUploadsHaveAnIdleLimitWithoutAReadTimeout(t *testing.T) {
	h := &Handler{cfg: &config.Config{ReadTimeout: 0}}
	app := fiber.New(fiber.Config{StreamRequestBody: true, DisableStartupMessage: true})
	limit := make(chan time.Duration, 1)
	app.Put("/", func(c *fiber.Ctx) error {
		var d time.Duration
		body := h.bodyStream(c)
		defer func() { _, _ = io.Copy(io.Discard, body) }()
		if e, ok := body.(*exactReader); ok {
			if dr, ok := e.r.(*deadlineReader); ok {
				d = dr.timeout
			}
		}
		limit <- d
		return c.SendStatus(http.StatusNoContent)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	defer func() { _ = app.Shutdown() }()
	req, _ := http.NewRequest(http.MethodPut, "http://"+ln.Addr().String()+"/", bytes.NewReader(make([]byte, 64<<10)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if got := <-limit; got != uploadIdleFallback {
		t.Errorf("upload inactivity limit with HTTP_READ_TIMEOUT=0: %v, want %v", got, uploadIdleFallback)
	}
}

package importpython

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
)

// sessionSettings make both sides print values alike: row hashes (md5 of a
// row's text) and COPY's text format must not depend on either server's
// defaults. search_path is empty so that the catalog functions qualify
// every name (public.orders_id_seq, public.mood), as pg_dump does.
var sessionSettings = []string{
	"SET client_encoding = 'UTF8'",
	"SET standard_conforming_strings = on",
	"SET search_path = ''",
	"SET TimeZone = 'UTC'",
	"SET DateStyle = 'ISO, MDY'",
	"SET IntervalStyle = 'postgres'",
	"SET extra_float_digits = 3",
	"SET bytea_output = 'hex'",
	"SET statement_timeout = 0",
	"SET idle_in_transaction_session_timeout = 0",
}

// openPool connects to rawURL with cfg's other settings and no per-read
// timeout: a COPY of a big table is one long read, and the CLI is stopped
// with ^C, which makes Postgres roll back what the run did.
func openPool(cfg *config.Config, rawURL, name string) (*bun.DB, error) {
	c := *cfg
	c.DatabaseURL = rawURL
	return db.OpenPool(&c, db.PoolOptions{Name: name, MaxConns: 4, ReadTimeout: 0})
}

// connect pings d within timeout and takes one connection with the session
// settings.
func connect(ctx context.Context, d *bun.DB, timeout time.Duration) (bun.Conn, error) {
	if err := db.Ping(ctx, d, timeout); err != nil {
		return bun.Conn{}, err
	}
	conn, err := d.Conn(ctx)
	if err != nil {
		return conn, err
	}
	for _, s := range sessionSettings {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			conn.Close()
			return bun.Conn{}, err
		}
	}
	return conn, nil
}

// redact prints a database URL without its password.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

// hostOf is host:port/database of a URL, for messages.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Host + u.Path
}

// ident quotes an identifier.
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// qualified is public."name".
func qualified(name string) string { return "public." + ident(name) }

// lit quotes a string literal (standard_conforming_strings is on).
func lit(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// arrayElem escapes an element of an array literal.
var arrayElem = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// arrayLit is a text[] literal of vs.
func arrayLit(vs []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(arrayElem.Replace(v))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return lit(b.String()) + "::text[]"
}

// pgMessage is a server error's message with its detail, else err's text.
func pgMessage(err error) string {
	if m := db.Message(err); m != "" {
		return m
	}
	return err.Error()
}

// copyStats counts the rows and bytes of a COPY stream (text format: one
// line per row, newlines inside values are escaped).
type copyStats struct {
	rows, bytes atomic.Int64
}

var newline = []byte{'\n'}

// copyWriter counts what goes through it.
type copyWriter struct {
	w     io.Writer
	stats *copyStats
}

func (c *copyWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.stats.bytes.Add(int64(n))
	c.stats.rows.Add(int64(bytes.Count(p[:n], newline)))
	return n, err
}

// eofReader ends the stream cleanly when the producer failed: COPY FROM then
// completes (pgdriver sends no CopyFail, so an error would leave the target
// connection in the middle of a COPY) and the run rolls back because the
// producer's error is returned.
type eofReader struct {
	r   *io.PipeReader
	err error
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
		return n, io.EOF
	}
	return n, err
}

// pipeCopy streams `COPY ... TO STDOUT` on src into `COPY ... FROM STDIN` on
// dst, both in text format, and returns what went through. progress, when
// set, is called every few seconds while it runs.
func pipeCopy(ctx context.Context, src, dst bun.Conn, srcSQL, dstSQL string, progress func(rows, bytes int64)) (int64, int64, error) {
	pr, pw := io.Pipe()
	stats := &copyStats{}
	srcErr := make(chan error, 1)
	go func() {
		_, err := pgdriver.CopyTo(ctx, src, &copyWriter{w: pw, stats: stats}, srcSQL)
		if err != nil {
			err = fmt.Errorf("reading the source: %s", pgMessage(err))
		}
		pw.CloseWithError(err)
		srcErr <- err
	}()
	done := make(chan struct{})
	var ticker sync.WaitGroup
	if progress != nil {
		ticker.Add(1)
		go func() {
			defer ticker.Done()
			t := time.NewTicker(5 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					progress(stats.rows.Load(), stats.bytes.Load())
				}
			}
		}()
	}
	rd := &eofReader{r: pr}
	_, dstErr := pgdriver.CopyFrom(ctx, dst, rd, dstSQL)
	// Unblocks the source when the target stopped reading early.
	pr.CloseWithError(errors.New("the target stopped reading"))
	err := <-srcErr
	close(done)
	ticker.Wait()
	if err == nil && rd.err != nil {
		err = rd.err
	}
	if dstErr != nil {
		err = fmt.Errorf("writing the target: %s", pgMessage(dstErr))
	}
	return stats.rows.Load(), stats.bytes.Load(), err
}

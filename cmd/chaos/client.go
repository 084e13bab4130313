package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// Route groups: what the report counts errors and latencies by.
const (
	gInsert = iota
	gRead
	gMe
	gLogin
	gFiles
	gSQL
	gBytes // step test only: the storage byte route on its own
	nGroups
)

var groupNames = [nGroups]string{"tables_insert", "tables_read", "users_me", "auth_login", "files", "sql", "files_bytes"}

// Why a request failed when its status alone does not say.
const (
	kindNone    = iota
	kindTimeout // the client gave up (CHAOS_CLIENT_TIMEOUT)
	kindConn    // no HTTP answer: refused, reset, EOF
	kindBody    // a 2xx whose body is wrong: SQL success:false, no id, other bytes
)

var kindNames = []string{"", "timeout", "conn", "bad_body"}

// sample is one request as the client saw it; times are since the run's t0.
type sample struct {
	start, dur time.Duration
	status     int16 // 0: no HTTP answer
	group      uint8
	inst       uint8
	kind       uint8
}

func (s sample) ok() bool           { return s.status >= 200 && s.status < 300 && s.kind == kindNone }
func (s sample) end() time.Duration { return s.start + s.dur }

// label names a failed sample's outcome: "503", "500", "200:bad_body",
// "timeout", "conn".
func (s sample) label() string {
	switch {
	case s.status == 0:
		return kindNames[s.kind]
	case s.kind != kindNone:
		return fmt.Sprintf("%d:%s", s.status, kindNames[s.kind])
	}
	return fmt.Sprint(s.status)
}

// api calls the instances in turn.
type api struct {
	http  *http.Client
	bases []string // http://127.0.0.1:port, one per instance
	anon  string
	t0    time.Time
	next  atomic.Uint64
}

func newAPI(bases []string, anon string, timeout time.Duration) *api {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     60 * time.Second,
		DisableCompression:  true,
	}
	return &api{http: &http.Client{Transport: tr, Timeout: timeout}, bases: bases, anon: anon, t0: time.Now()}
}

// pick returns the next instance, round-robin over all requests.
func (a *api) pick() int { return int(a.next.Add(1) % uint64(len(a.bases))) }

// req is one HTTP request of an operation.
type req struct {
	method, path string // path: under the instance's base, or an absolute URL to re-point at it
	token        string
	body         []byte
	ctype        string
	noKey        bool
}

// do sends r to instance inst and returns the status (0 with a kind when
// there was no answer) and the body.
func (a *api) do(ctx context.Context, inst int, r req) (int, []byte, uint8) {
	u := a.bases[inst] + r.path
	if abs, err := url.Parse(r.path); err == nil && abs.Host != "" {
		// Signed URLs name the instance that made them; any instance must
		// serve them (same SECRET_KEY, shared STORAGE_PATH).
		base, _ := url.Parse(a.bases[inst])
		abs.Scheme, abs.Host = base.Scheme, base.Host
		u = abs.String()
	}
	hr, err := http.NewRequestWithContext(ctx, r.method, u, bytes.NewReader(r.body))
	if err != nil {
		panic(err) // only a bad method or URL, which is this program's bug
	}
	if r.body == nil {
		hr.Body, hr.ContentLength = http.NoBody, 0
	}
	if !r.noKey {
		hr.Header.Set("apikey", a.anon)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.ctype != "" {
		hr.Header.Set("Content-Type", r.ctype)
	}
	resp, err := a.http.Do(hr)
	if err != nil {
		return 0, nil, errKind(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, errKind(err)
	}
	return resp.StatusCode, b, kindNone
}

func errKind(err error) uint8 {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return kindTimeout
	}
	return kindConn
}

// jsonBody marshals v for a request body.
func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// recorder is one worker's log of samples.
type recorder struct {
	api     *api
	samples []sample
}

// call sends r to the next instance and records it under group; check, when
// set, judges a 2xx body (false: kindBody).
func (rec *recorder) call(ctx context.Context, group int, r req, check func([]byte) bool) (int, []byte, bool) {
	inst := rec.api.pick()
	start := time.Since(rec.api.t0)
	status, body, kind := rec.api.do(ctx, inst, r)
	dur := time.Since(rec.api.t0) - start
	if ctx.Err() != nil && status == 0 {
		return 0, nil, false // the run ended under it: not the server's failure
	}
	if kind == kindNone && status >= 200 && status < 300 && check != nil && !check(body) {
		kind = kindBody
	}
	s := sample{start: start, dur: dur, status: int16(status), group: uint8(group), inst: uint8(inst), kind: kind}
	rec.samples = append(rec.samples, s)
	return status, body, s.ok()
}

package functions

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
)

// The runtime's scripts (see runtime/main.js for the protocol).
var (
	//go:embed runtime/main.js
	mainJS string
	//go:embed runtime/worker.js
	workerJS string
)

// bootstrapURL is the runtime's main module as a data URL, worker.js inlined
// as WORKER_URL: nothing is written to disk, and the server's binary is all
// there is to deploy.
func bootstrapURL() string {
	worker := "data:text/javascript;base64," + base64.StdEncoding.EncodeToString([]byte(workerJS))
	src := "const WORKER_URL = " + strconv.Quote(worker) + ";\n" + mainJS
	return "data:text/javascript;base64," + base64.StdEncoding.EncodeToString([]byte(src))
}

// Runtime timings.
const (
	startTimeout   = 30 * time.Second
	readyWait      = 10 * time.Second // how long a call waits for a (re)starting runtime
	summaryWait    = 5 * time.Second  // how long a finished response waits for its run's record
	callGrace      = 10 * time.Second // past a run's timeout, the runtime itself is late
	statsInterval  = 10 * time.Second
	statsFailures  = 3
	stopGrace      = 3 * time.Second
	maxRecordBytes = 8 << 20
)

// summary is the runtime's record of one run.
type summary struct {
	// Outcome is ok, error, timeout, memory or crashed.
	Outcome string `json:"outcome"`
	Status  int    `json:"status"`
	MS      int    `json:"ms"`
	Logs    string `json:"logs"`
	Error   string `json:"error"`
}

// analysis is what the runtime found in code.
type analysis struct {
	OK          bool            `json:"ok"`
	HasDefault  bool            `json:"hasDefault"`
	Triggers    json.RawMessage `json:"triggers"`
	Description *string         `json:"description"`
	RunOnce     bool            `json:"runOnce"`
	Message     string          `json:"message"`
	Line        int             `json:"line"`
	Column      int             `json:"column"`
}

// source is what a runtime needs to run a version.
type source struct {
	Code    string
	Env     map[string]string
	Secrets []string
}

// loader fetches a version's source, when the runtime does not have it.
type loader func(ctx context.Context) (*source, error)

// call is one run to send to the runtime.
type call struct {
	key     string
	fn      uuid.UUID
	name    string
	run     uuid.UUID
	method  string
	url     string
	header  [][2]string
	body    io.Reader
	replay  []byte // the body again, when it is in memory (a retry can resend it)
	length  int64  // -1: unknown
	timeout time.Duration
	token   string
}

// invocation is a run under way: the function's response, and its record
// once the response is read.
type invocation struct {
	resp    *http.Response
	records chan summary
	cancel  context.CancelFunc
	p       *process
}

// finish waits for the run's record (the response must be read or closed).
func (inv *invocation) finish() summary {
	defer inv.cancel()
	select {
	case s := <-inv.records:
		return s
	case <-inv.p.exited:
		select {
		case s := <-inv.records:
			return s
		default:
		}
		return summary{Outcome: "crashed", Error: "the functions runtime stopped during the run", Status: inv.resp.StatusCode}
	case <-time.After(summaryWait):
		return summary{Outcome: "error", Error: "the runtime sent no record of the run", Status: inv.resp.StatusCode}
	}
}

// Runtime supervises the Deno process that runs functions: it is a worker
// (restarted with back-off by the platform when Deno exits), and the way
// the rest of the module reaches Deno.
type Runtime struct {
	cfg     *Config
	log     *zap.Logger
	metrics *metrics
	apiURL  func() string
	anonKey string

	mu      sync.Mutex
	proc    *process
	changed chan struct{} // closed and replaced when proc or missing change
	missing error         // why there is no runtime at all (no binary)
	onReady []func(ctx context.Context)
	hooks   sync.WaitGroup
}

// NewRuntime builds the runtime; apiURL is the server's own base URL, which
// callBackend calls.
func NewRuntime(cfg *Config, log *zap.Logger, m *metrics, anonKey string, apiURL func() string) *Runtime {
	if apiURL == nil {
		apiURL = func() string { return "http://127.0.0.1" }
	}
	return &Runtime{cfg: cfg, log: log.Named("functions"), metrics: m, apiURL: apiURL, anonKey: anonKey, changed: make(chan struct{})}
}

// OnReady registers work to do each time a runtime has started.
func (r *Runtime) OnReady(fn func(ctx context.Context)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onReady = append(r.onReady, fn)
}

// Name is the worker's name.
func (r *Runtime) Name() string { return "functions.runtime" }

// Run starts Deno and watches it until ctx ends (then it stops Deno) or
// Deno exits (then it fails, and the supervisor starts it again after a
// back-off). Without a Deno binary it only waits: the server works, and
// invocations answer 503 naming the fix.
func (r *Runtime) Run(ctx context.Context) error {
	path, err := FindDeno(r.cfg.DenoPath)
	if err != nil {
		r.set(nil, err)
		r.log.Error("functions runtime unavailable: function management works, invocations answer 503", zap.Error(err))
		<-ctx.Done()
		return nil
	}
	p, err := r.start(ctx, path)
	if err != nil {
		return err
	}
	r.set(p, nil)
	r.metrics.runtimeUp.Set(1)
	r.metrics.runtimeStarts.Inc()
	r.log.Info("functions runtime started", zap.String("deno", path), zap.Int("pid", p.pid))
	r.mu.Lock()
	hooks := append([]func(context.Context){}, r.onReady...)
	r.mu.Unlock()
	// The hooks work with this process: they end when it does.
	hctx, hcancel := context.WithCancel(ctx)
	defer r.hooks.Wait()
	defer hcancel()
	for _, h := range hooks {
		r.hooks.Add(1)
		go func() {
			defer r.hooks.Done()
			h(hctx)
		}()
	}
	defer r.metrics.runtimeUp.Set(0)
	failures := 0
	tick := time.NewTicker(statsInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			r.set(nil, nil)
			p.stop()
			return nil
		case <-p.exited:
			r.set(nil, nil)
			return fmt.Errorf("deno exited: %v", p.exitErr)
		case <-tick.C:
			if err := r.stats(ctx, p); err != nil {
				failures++
				r.log.Warn("functions runtime did not answer", zap.Int("times", failures), zap.Error(err))
				if failures >= statsFailures {
					r.set(nil, nil)
					p.kill()
					<-p.exited
					return fmt.Errorf("deno stopped answering: %v", err)
				}
				continue
			}
			failures = 0
		}
	}
}

func (r *Runtime) set(p *process, missing error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.proc, r.missing = p, missing
	close(r.changed)
	r.changed = make(chan struct{})
}

// ready returns the running process, waiting a little for one that starts.
func (r *Runtime) ready(ctx context.Context) (*process, error) {
	timer := time.NewTimer(readyWait)
	defer timer.Stop()
	for {
		r.mu.Lock()
		p, missing, changed := r.proc, r.missing, r.changed
		r.mu.Unlock()
		switch {
		case p != nil:
			return p, nil
		case missing != nil:
			return nil, ErrUnavailable.WithMessage("functions runtime unavailable: %v", missing)
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, ErrUnavailable.WithMessage("functions runtime unavailable: it is (re)starting, try again shortly")
		case <-ctx.Done():
			return nil, ErrUnavailable.Wrap(ctx.Err())
		}
	}
}

// Available reports whether a runtime runs now.
func (r *Runtime) Available() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proc != nil
}

// PID is the Deno process's id, 0 when none runs.
func (r *Runtime) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return 0
	}
	return r.proc.pid
}

// Stats is what the runtime reports about itself.
type Stats struct {
	RSS      int64 `json:"rss"`
	Isolates int   `json:"isolates"`
	Versions int   `json:"versions"`
	Running  int   `json:"running"`
	Runs     int64 `json:"runs"`
}

// Stats asks the running runtime for its figures.
func (r *Runtime) Stats(ctx context.Context) (*Stats, error) {
	p, err := r.ready(ctx)
	if err != nil {
		return nil, err
	}
	var st Stats
	if err := p.getJSON(ctx, "/stats", &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func (r *Runtime) stats(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var st Stats
	if err := p.getJSON(ctx, "/stats", &st); err != nil {
		return err
	}
	r.metrics.runtimeRSS.Set(float64(st.RSS))
	r.metrics.isolates.Set(float64(st.Isolates))
	return nil
}

// check analyzes code in a throwaway isolate; ok=false without a runtime.
func (r *Runtime) check(ctx context.Context, name, code string) (*analysis, bool, error) {
	r.mu.Lock()
	missing := r.missing
	r.mu.Unlock()
	if missing != nil {
		return nil, false, nil
	}
	p, err := r.ready(ctx)
	if err != nil {
		return nil, false, err
	}
	var a analysis
	if err := p.postJSON(ctx, "/check", map[string]string{"name": name, "code": code}, &a); err != nil {
		return nil, false, ErrUnavailable.WithMessage("functions runtime unavailable: %v", err)
	}
	return &a, true, nil
}

// drop tells the running runtime that a function is gone.
func (r *Runtime) drop(ctx context.Context, fn uuid.UUID) {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil {
		return
	}
	p.forget(fn)
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, p.base+"/fn/"+fn.String(), nil)
	if err != nil {
		return
	}
	if resp, err := p.do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

var errUnknownVersion = errors.New("functions: the runtime does not have this version")

// invoke sends a run to the runtime, loading the version first when needed.
func (r *Runtime) invoke(ctx context.Context, c *call, load loader) (*invocation, error) {
	p, err := r.ready(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if err := p.ensure(ctx, c, load); err != nil {
			return nil, err
		}
		inv, err := p.send(ctx, c, r.apiURL(), r.anonKey)
		if errors.Is(err, errUnknownVersion) && attempt == 0 && (c.body == nil || c.replay != nil) {
			// Another version of the function was loaded meanwhile: load
			// this one again.
			p.loaded.Delete(c.key)
			if c.replay != nil {
				c.body = bytes.NewReader(c.replay)
			}
			continue
		}
		if errors.Is(err, errUnknownVersion) {
			return nil, ErrUnavailable.WithMessage("functions runtime unavailable: the function changed during the call, try again")
		}
		return inv, err
	}
}

// start launches Deno and waits for it to listen.
func (r *Runtime) start(ctx context.Context, path string) (*process, error) {
	secret := randomHex(24)
	cmd := exec.Command(path, "run", "--quiet", "--no-prompt", "--no-config", "--no-lock", "--allow-net",
		bootstrapURL(),
		"--memory-mb="+strconv.Itoa(r.cfg.MemoryMB),
		"--idle-ms="+strconv.FormatInt(r.cfg.IdleTimeout.Milliseconds(), 10))
	cmd.Env = denoEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	p := &process{
		cmd: cmd, pid: cmd.Process.Pid, secret: secret, stdin: stdin, log: r.log,
		exited: make(chan struct{}), ready: make(chan int, 1), fnKeys: map[uuid.UUID]string{},
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); p.readRecords(stdout) }()
	go func() { defer readers.Done(); p.readStderr(stderr) }()
	go func() {
		readers.Wait()
		p.exitErr = cmd.Wait()
		p.failWaiters()
		close(p.exited)
	}()
	// The secret goes on stdin: never in the environment or the arguments,
	// which other local users can read.
	if _, err := io.WriteString(stdin, secret+"\n"); err != nil {
		p.kill()
		<-p.exited
		return nil, fmt.Errorf("deno: write secret: %w", err)
	}
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case port := <-p.ready:
		p.base = "http://127.0.0.1:" + strconv.Itoa(port)
		p.client = &http.Client{Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConns:        512,
			MaxIdleConnsPerHost: 512,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}}
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("deno exited at start: %v", p.exitErr)
	case <-timer.C:
	case <-ctx.Done():
	}
	p.kill()
	<-p.exited
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("deno did not start listening within %s", startTimeout)
}

// denoEnv is Deno's environment: none of the server's secrets, only what
// Deno needs to find its cache and the network.
func denoEnv() []string {
	env := []string{"NO_COLOR=1", "DENO_NO_UPDATE_CHECK=1", "DENO_NO_PROMPT=1"}
	for _, k := range []string{"HOME", "DENO_DIR", "XDG_CACHE_HOME", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
		"http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "DENO_CERT"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// process is one boot of Deno.
type process struct {
	cmd     *exec.Cmd
	pid     int
	secret  string
	stdin   io.WriteCloser
	base    string
	client  *http.Client
	log     *zap.Logger
	ready   chan int
	exited  chan struct{}
	exitErr error

	loaded  sync.Map // version key -> struct{}
	loading singleflight.Group
	mu      sync.Mutex
	fnKeys  map[uuid.UUID]string // function -> the version key loaded last
	waiters sync.Map             // run id -> chan summary
}

func (p *process) do(req *http.Request) (*http.Response, error) {
	req.Header.Set("x-selfdb-secret", p.secret)
	return p.client.Do(req)
}

func (p *process) getJSON(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return err
	}
	return p.roundTripJSON(req, out)
}

func (p *process) postJSON(ctx context.Context, path string, in, out any) error {
	return p.sendJSON(ctx, http.MethodPost, path, in, out)
}

func (p *process) sendJSON(ctx context.Context, method, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return p.roundTripJSON(req, out)
}

func (p *process) roundTripJSON(req *http.Request, out any) error {
	resp, err := p.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("runtime answered %d: %.200s", resp.StatusCode, body)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}

// ensure loads the call's version into the runtime once per boot.
func (p *process) ensure(ctx context.Context, c *call, load loader) error {
	if _, ok := p.loaded.Load(c.key); ok {
		return nil
	}
	_, err, _ := p.loading.Do(c.key, func() (any, error) {
		if _, ok := p.loaded.Load(c.key); ok {
			return nil, nil
		}
		src, err := load(ctx)
		if err != nil {
			return nil, err
		}
		body := map[string]any{"fn": c.fn.String(), "name": c.name, "code": src.Code, "env": src.Env, "secrets": src.Secrets}
		if err := p.sendJSON(ctx, http.MethodPut, "/fn/"+url.PathEscape(c.key), body, nil); err != nil {
			return nil, ErrUnavailable.WithMessage("functions runtime unavailable: loading the function: %v", err)
		}
		p.mu.Lock()
		if old, ok := p.fnKeys[c.fn]; ok && old != c.key {
			p.loaded.Delete(old) // the runtime keeps one version per function
		}
		p.fnKeys[c.fn] = c.key
		p.mu.Unlock()
		p.loaded.Store(c.key, struct{}{})
		return nil, nil
	})
	return err
}

func (p *process) forget(fn uuid.UUID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k, ok := p.fnKeys[fn]; ok {
		p.loaded.Delete(k)
		delete(p.fnKeys, fn)
	}
}

// callMeta is the x-selfdb-call header: the run, as main.js reads it.
type callMeta struct {
	Key       string      `json:"key"`
	Run       string      `json:"run"`
	Method    string      `json:"method"`
	URL       string      `json:"url"`
	Headers   [][2]string `json:"headers"`
	TimeoutMS int64       `json:"timeoutMs"`
	HasBody   bool        `json:"hasBody"`
	API       apiAccess   `json:"api"`
}

// apiAccess is what callBackend calls the API with.
type apiAccess struct {
	URL     string `json:"url"`
	AnonKey string `json:"anonKey"`
	Token   string `json:"token"`
}

// send posts the run and returns once the function's response starts.
func (p *process) send(ctx context.Context, c *call, apiURL, anonKey string) (*invocation, error) {
	meta, err := json.Marshal(callMeta{
		Key: c.key, Run: c.run.String(), Method: c.method, URL: c.url, Headers: c.header,
		TimeoutMS: c.timeout.Milliseconds(), HasBody: c.body != nil,
		API: apiAccess{URL: apiURL, AnonKey: anonKey, Token: c.token},
	})
	if err != nil {
		return nil, err
	}
	records := make(chan summary, 1)
	p.waiters.Store(c.run.String(), records)
	ctx, cancel := context.WithTimeout(ctx, c.timeout+callGrace)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/run", c.body)
	if err != nil {
		cancel()
		p.waiters.Delete(c.run.String())
		return nil, err
	}
	req.ContentLength = c.length
	if c.body == nil {
		req.ContentLength = 0
	}
	req.Header.Set("x-selfdb-call", asciiJSON(meta))
	resp, err := p.do(req)
	if err != nil {
		cancel()
		p.waiters.Delete(c.run.String())
		select {
		case <-p.exited:
			return nil, ErrUnavailable.WithMessage("functions runtime unavailable: it stopped during the run, try again").Wrap(err)
		default:
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, ErrUnavailable.WithMessage("functions runtime unavailable: it did not answer in time").Wrap(err)
		}
		return nil, ErrUnavailable.WithMessage("functions runtime unavailable: %v", err).Wrap(err)
	}
	if resp.Header.Get("x-selfdb-runtime") == "unknown-function" {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		cancel()
		p.waiters.Delete(c.run.String())
		return nil, errUnknownVersion
	}
	return &invocation{resp: resp, records: records, cancel: cancel, p: p}, nil
}

// asciiJSON escapes what is not ASCII in JSON as \u sequences, so that it
// can travel as a header value.
func asciiJSON(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, r := range string(b) {
		switch {
		case r < utf8.RuneSelf:
			sb.WriteByte(byte(r))
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&sb, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&sb, `\u%04x`, r)
		}
	}
	return sb.String()
}

// readRecords reads the runtime's stdout: records prefixed with the secret
// (ready, run), and anything else, which is logged.
func (p *process) readRecords(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	prefix := []byte(p.secret + " ")
	for {
		line, err := readLine(br, maxRecordBytes)
		if len(line) > 0 {
			if bytes.HasPrefix(line, prefix) {
				p.record(line[len(prefix):])
			} else {
				p.log.Warn("functions runtime wrote to stdout", zap.String("line", truncate(string(line), 512)))
			}
		}
		if err != nil {
			return
		}
	}
}

// readLine reads one line, dropping what passes max.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		part, err := br.ReadSlice('\n')
		if len(line)+len(part) <= max {
			line = append(line, part...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

func (p *process) record(b []byte) {
	var rec struct {
		T    string `json:"t"`
		Port int    `json:"port"`
		Run  string `json:"run"`
		summary
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		p.log.Warn("functions runtime sent a bad record", zap.Error(err))
		return
	}
	switch rec.T {
	case "ready":
		select {
		case p.ready <- rec.Port:
		default:
		}
	case "run":
		if ch, ok := p.waiters.LoadAndDelete(rec.Run); ok {
			ch.(chan summary) <- rec.summary
		}
	}
}

func (p *process) readStderr(r io.Reader) {
	br := bufio.NewReaderSize(r, 16<<10)
	var window time.Time
	n := 0
	for {
		line, err := readLine(br, 64<<10)
		if len(line) > 0 {
			if time.Since(window) > time.Minute {
				window, n = time.Now(), 0
			}
			if n++; n <= 50 {
				p.log.Warn("functions runtime", zap.String("stderr", truncate(string(line), 2048)))
			}
		}
		if err != nil {
			return
		}
	}
}

// failWaiters ends the runs still waiting for a record: the process is gone.
func (p *process) failWaiters() {
	p.waiters.Range(func(k, v any) bool {
		p.waiters.Delete(k)
		v.(chan summary) <- summary{Outcome: "crashed", Error: "the functions runtime stopped during the run"}
		return true
	})
}

// stop ends Deno: closing stdin asks it to exit; it is killed if it lingers.
func (p *process) stop() {
	_ = p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(stopGrace):
		p.kill()
		<-p.exited
	}
	p.client.CloseIdleConnections()
}

func (p *process) kill() { _ = p.cmd.Process.Kill() }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

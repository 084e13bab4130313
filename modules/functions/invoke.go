package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/identity"
)

// Headers that never pass between a caller and a function: hop-by-hop
// ones, and those through which SelfDB tells the function who calls and why
// (a caller can't forge them).
var (
	hopHeaders = map[string]bool{
		"connection": true, "keep-alive": true, "proxy-connection": true, "proxy-authenticate": true,
		"proxy-authorization": true, "te": true, "trailer": true, "transfer-encoding": true, "upgrade": true,
		"content-length": true, "host": true,
	}
	internalHeaders = map[string]bool{
		"x-user-id": true, "x-user-role": true, "x-trigger-type": true, "x-event-id": true,
		"x-event-name": true, "x-database-channel": true, "x-schedule-name": true,
	}
	responseSkipped = map[string]bool{"date": true, "server": true}
)

// policyErr is nil when p may call a function with this invoke policy.
func policyErr(policy string, p *identity.Principal) error {
	switch policy {
	case PolicyPublic:
		return nil
	case PolicySuperuser:
		if !p.IsUser() {
			return identity.ErrNotAuthenticated
		}
		if !p.IsSuperuser() {
			return identity.ErrNotEnoughPrivileges
		}
		return nil
	}
	if !p.IsUser() {
		return identity.ErrNotAuthenticated
	}
	return nil
}

// Invoke serves an HTTP call of a function (anyone its invoke policy
// admits): the request goes to the function as it came (method, path,
// query, headers, streamed body) with X-User-Id, X-User-Role and
// X-Trigger-Type set by SelfDB, and its response comes back streamed.
// Errors: function_not_found (or inactive), function_not_invocable,
// function_method_not_allowed, not_authenticated, not_enough_privileges,
// functions_unavailable. A function that throws or times out answers 500
// or 504 itself (api.md §9.1).
func (s *Service) Invoke(c *fiber.Ctx, name string) error {
	ctx := c.UserContext()
	f, err := s.header(ctx, name)
	if err != nil {
		return err
	}
	if !f.IsActive {
		return ErrNotFound
	}
	p, err := identity.From(c)
	if err != nil {
		return err
	}
	if err := policyErr(f.InvokePolicy, p); err != nil {
		return err
	}
	method := strings.Clone(c.Method())
	invocable, allowed := allowsMethod(f.Effective(), method)
	if !invocable {
		return ErrNotInvocable
	}
	if !allowed {
		return ErrMethodNotAllowed
	}
	body := newRequestBody(c, method)
	cl := &call{
		key: f.key(), fn: f.ID, name: f.Name, run: uuid.New(), method: method,
		url: c.BaseURL() + strings.Clone(c.OriginalURL()), header: forwardHeaders(c, p),
		body: body.reader(), replay: body.replay, length: body.length,
		timeout: time.Duration(f.TimeoutMS) * time.Millisecond, token: s.tokens.get(ctx, f.OwnerID),
	}
	started := time.Now()
	// The response streams after this handler returns, when the request's
	// context (with its database deadline) has ended: the run is bounded by
	// the function's own timeout instead.
	inv, err := s.rt.invoke(context.WithoutCancel(ctx), cl, s.loader(f))
	if err != nil {
		body.stop()
		s.finish(f, cl.run, TriggerHTTP, started, nil, summary{}, err)
		return err
	}
	resp := c.Response()
	for k, vs := range inv.resp.Header {
		lk := strings.ToLower(k)
		if hopHeaders[lk] || responseSkipped[lk] || strings.HasPrefix(lk, "x-selfdb-") {
			continue
		}
		resp.Header.Del(k)
		for _, v := range vs {
			resp.Header.Add(k, v)
		}
	}
	resp.SetStatusCode(inv.resp.StatusCode)
	done := func() {
		body.stop()
		s.finish(f, cl.run, TriggerHTTP, started, nil, inv.finish(), nil)
	}
	if method == fiber.MethodHead {
		_, _ = io.Copy(io.Discard, inv.resp.Body)
		inv.resp.Body.Close()
		done()
		return nil
	}
	size := int(inv.resp.ContentLength)
	if size < 0 {
		size = -1
	}
	resp.SetBodyStream(&responseBody{ReadCloser: inv.resp.Body, done: done}, size)
	return nil
}

// forwardHeaders are the caller's headers as the function sees them.
func forwardHeaders(c *fiber.Ctx, p *identity.Principal) [][2]string {
	var out [][2]string
	c.Request().Header.VisitAll(func(k, v []byte) {
		lk := strings.ToLower(string(k))
		if hopHeaders[lk] || internalHeaders[lk] || strings.HasPrefix(lk, "x-selfdb-") {
			return
		}
		out = append(out, [2]string{string(k), latin1(v)})
	})
	if p.IsUser() {
		out = append(out, [2]string{"X-User-Id", p.ID.String()})
	}
	out = append(out, [2]string{"X-User-Role", p.Role.String()}, [2]string{"X-Trigger-Type", TriggerHTTP})
	return out
}

// latin1 reads header bytes as an HTTP server in JavaScript does: one
// character per byte.
func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// requestBody is a call's body: in memory (then a retry can resend it), or
// the request's stream, which must not be read once the request is over.
type requestBody struct {
	replay []byte
	stream *guardedReader
	length int64
}

func newRequestBody(c *fiber.Ctx, method string) *requestBody {
	if method == fiber.MethodGet || method == fiber.MethodHead {
		return &requestBody{}
	}
	req := c.Request()
	if req.IsBodyStream() {
		n := int64(req.Header.ContentLength())
		if n < 0 {
			n = -1
		}
		return &requestBody{stream: &guardedReader{r: req.BodyStream()}, length: n}
	}
	b := bytes.Clone(req.Body())
	return &requestBody{replay: b, length: int64(len(b))}
}

func (b *requestBody) reader() io.Reader {
	switch {
	case b.stream != nil:
		return b.stream
	case b.replay != nil:
		return bytes.NewReader(b.replay)
	}
	return nil
}

// stop ends reading the request's stream (the run is over) and waits for a
// read in progress.
func (b *requestBody) stop() {
	if b.stream != nil {
		b.stream.stop()
	}
}

// guardedReader passes reads through until stopped.
type guardedReader struct {
	mu      sync.Mutex
	r       io.Reader
	stopped bool
	reading sync.WaitGroup
}

func (g *guardedReader) Read(p []byte) (int, error) {
	g.mu.Lock()
	if g.stopped {
		g.mu.Unlock()
		return 0, io.EOF
	}
	g.reading.Add(1)
	g.mu.Unlock()
	defer g.reading.Done()
	return g.r.Read(p)
}

// Close is the HTTP client's: the body is done with.
func (g *guardedReader) Close() error {
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
	return nil
}

func (g *guardedReader) stop() {
	_ = g.Close()
	g.reading.Wait()
}

// responseBody streams the function's response to the client and records
// the run when the server closes it (sent, or the client gone).
type responseBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (r *responseBody) Close() error {
	err := r.ReadCloser.Close()
	r.once.Do(r.done)
	return err
}

// loader reads f's current version for a runtime.
func (s *Service) loader(f *Function) loader {
	return func(ctx context.Context) (*source, error) {
		code, env, err := s.repo.Source(ctx, f.ID, f.VersionNumber)
		if err != nil {
			return nil, err
		}
		src := &source{Code: code, Env: make(map[string]string, len(env))}
		for _, e := range env {
			src.Env[e.Key] = e.Value
			if e.IsSecret {
				src.Secrets = append(src.Secrets, e.Value)
			}
		}
		return src, nil
	}
}

// finish records a run and counts it; err is a failure to run at all.
func (s *Service) finish(f *Function, id uuid.UUID, trigger string, started time.Time, eventID *int64, sum summary, err error) *Run {
	run := &Run{
		ID: id, FunctionID: f.ID, VersionNumber: f.VersionNumber, Trigger: trigger, StartedAt: started,
		DurationMS: sum.MS, Logs: sum.Logs, EventID: eventID,
	}
	if run.DurationMS == 0 {
		run.DurationMS = int(time.Since(started).Milliseconds())
	}
	if sum.Status > 0 {
		st := sum.Status
		run.HTTPStatus = &st
	}
	var why string
	switch {
	case err != nil:
		run.Status, why = StatusUnavailable, apperr.From(err).Message
	case sum.Outcome == "ok" && sum.Status < 500:
		run.Status = StatusSuccess
	case sum.Outcome == "ok":
		run.Status, why = StatusError, "the function answered HTTP "+strconv.Itoa(sum.Status)
	case sum.Outcome == "timeout":
		run.Status, why = StatusTimeout, sum.Error
	default:
		run.Status, why = StatusError, sum.Error
	}
	if why != "" {
		run.Error = &why
	}
	s.metrics.observe(f.Name, run)
	s.rec.record(run)
	return run
}

// triggered is a run that is not an HTTP call.
type triggered struct {
	trigger string
	headers [][2]string
	payload []byte
	eventID *int64
}

// runTriggered runs f for a trigger and reports whether it succeeded, with
// the start of its response body.
func (s *Service) runTriggered(ctx context.Context, f *Function, t triggered) (ok bool, body []byte) {
	header := append([][2]string{{"Content-Type", "application/json"}, {"X-Trigger-Type", t.trigger}}, t.headers...)
	cl := &call{
		key: f.key(), fn: f.ID, name: f.Name, run: uuid.New(), method: fiber.MethodPost,
		url: s.rt.apiURL() + "/api/v1/functions/invoke/" + f.Name, header: header,
		body: bytes.NewReader(t.payload), replay: t.payload, length: int64(len(t.payload)),
		timeout: time.Duration(f.TimeoutMS) * time.Millisecond, token: s.tokens.get(ctx, f.OwnerID),
	}
	started := time.Now()
	// The response streams after this handler returns, when the request's
	// context (with its database deadline) has ended: the run is bounded by
	// the function's own timeout instead.
	inv, err := s.rt.invoke(context.WithoutCancel(ctx), cl, s.loader(f))
	if err != nil {
		s.finish(f, cl.run, t.trigger, started, t.eventID, summary{}, err)
		return false, nil
	}
	body, _ = io.ReadAll(io.LimitReader(inv.resp.Body, 1<<20))
	inv.resp.Body.Close()
	run := s.finish(f, cl.run, t.trigger, started, t.eventID, inv.finish(), nil)
	return run.Status == StatusSuccess, body
}

// background runs fn in a goroutine the module stops and awaits at stop,
// waiting for one of maxBackgroundRuns slots; false when stopping.
func (s *Service) background(fn func(ctx context.Context)) bool {
	select {
	case s.bgSlots <- struct{}{}:
	case <-s.bg.Done():
		return false
	}
	s.bgMu.Lock()
	if s.bg.Err() != nil {
		s.bgMu.Unlock()
		<-s.bgSlots
		return false
	}
	s.bgRuns.Add(1)
	s.bgMu.Unlock()
	go func() {
		defer s.bgRuns.Done()
		defer func() { <-s.bgSlots }()
		fn(s.bg)
	}()
	return true
}

// stopBackground cancels the trigger runs in flight and waits for them.
func (s *Service) stopBackground() {
	s.bgMu.Lock()
	s.bgCancel()
	s.bgMu.Unlock()
	s.bgRuns.Wait()
}

// Emit delivers a named event to every active function with that event
// trigger (superuser, or a function through callBackend); the runs happen
// in the background. Errors: invalid_trigger (a bad event name).
func (s *Service) Emit(ctx context.Context, event string, data []byte) (*EventOut, error) {
	t, err := normalize(Trigger{Type: TriggerEvent, Event: event})
	if err != nil {
		return nil, ErrInvalidTrigger.WithMessage("Invalid event: %v", err)
	}
	want, _ := json.Marshal(t)
	fs, err := s.repo.Subscribers(ctx, string(want))
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("null")
	}
	out := &EventOut{Event: t.Event, Functions: []string{}}
	for _, f := range fs {
		out.Functions = append(out.Functions, f.Name)
		s.background(func(ctx context.Context) {
			s.runTriggered(ctx, f, triggered{trigger: TriggerEvent, headers: [][2]string{{"X-Event-Name", t.Event}}, payload: data})
		})
	}
	s.log.Debug("event delivered", zap.String("event", t.Event), zap.Int("functions", len(fs)))
	return out, nil
}

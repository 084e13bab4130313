package realtime

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/modules/tables"
	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/events"
	"github.com/selfdb/selfdb/platform/identity"
)

// Tables is what realtime needs from modules/tables: a table's read rule,
// from its metadata cache (bound to *tables.Service).
type Tables interface {
	ReadRule(ctx context.Context, table string) (tables.Rule, error)
}

// Bounds of the hub.
const (
	// hubQueue is the hub's queue on the bus; overflowing it means events
	// were lost for everyone, so every client is asked to resume.
	hubQueue = 1 << 16
	// maxPending bounds the live events a subscription holds back while its
	// replay runs.
	maxPending = 10000
	// authWait is how long a new connection has to authenticate.
	authWait = 10 * time.Second
	// resolveTimeout bounds resolving a token.
	resolveTimeout = 5 * time.Second
)

// Hub is every client connection of this process and their subscriptions;
// one goroutine fans the change log out to them (see doc.go).
type Hub struct {
	cfg      *Config
	bus      *events.Bus
	log      *events.Log
	tables   Tables
	resolver identity.Resolver
	anonKey  []byte
	logger   *zap.Logger
	metrics  *metrics

	position atomic.Int64 // id of the last event fanned out

	mu      sync.RWMutex
	conns   map[*conn]struct{}
	byTable map[string]map[*sub]struct{} // user table, or "selfdb.<table>" for system feeds
	all     map[*sub]struct{}            // tables_changes
	byUser  map[uuid.UUID]map[*conn]struct{}
}

// sub is one subscription of a connection.
type sub struct {
	c      *conn
	id     string
	table  string // "" for every readable user table
	system bool
	js     bool
	// refs counts JS SDK subscribes of one channel (one per event filter);
	// the channel goes with its last unsubscribe.
	refs int
	// replaying holds live events back (in pending) while "since" replays
	// the log; guarded by Hub.mu.
	replaying bool
	pending   []out
}

// HubParams are NewHub's dependencies.
type HubParams struct {
	fx.In
	Config   *Config
	Platform *config.Config
	Bus      *events.Bus
	Log      *events.Log
	Tables   Tables
	Resolver identity.Resolver
	Logger   *zap.Logger
	Registry prometheus.Registerer
}

// NewHub builds the hub and registers its metrics.
func NewHub(p HubParams) *Hub {
	return &Hub{
		cfg: p.Config, bus: p.Bus, log: p.Log, tables: p.Tables, resolver: p.Resolver,
		anonKey: []byte(p.Platform.AnonKey), logger: p.Logger.Named("realtime"), metrics: newMetrics(p.Registry),
		conns: map[*conn]struct{}{}, byTable: map[string]map[*sub]struct{}{}, all: map[*sub]struct{}{},
		byUser: map[uuid.UUID]map[*conn]struct{}{},
	}
}

// Name is the fan-out worker's name.
func (h *Hub) Name() string { return "realtime.hub" }

// Run fans the change log out to the subscriptions until ctx ends, and
// once a second pings idle clients and ends connections whose token
// expired.
func (h *Hub) Run(ctx context.Context) error {
	s, pos := h.bus.Subscribe("realtime", wanted, hubQueue)
	defer s.Close()
	h.position.Store(pos)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var dropped uint64
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-s.C():
			if d := s.Dropped(); d != dropped {
				dropped = d
				h.logger.Error("realtime fell behind the change log; asking every client to resume", zap.Uint64("lost", d))
				h.closeAll(CloseSlow, "server fell behind: reconnect and resume with since")
			}
			if e.Table == "selfdb.users" {
				h.userChanged(e)
			}
			h.fanOut(ctx, e)
		case now := <-tick.C:
			h.sweep(now)
		}
	}
}

// wanted picks the events realtime serves: user tables and system feeds.
func wanted(e *events.Event) bool {
	if e.UserTable() {
		return true
	}
	for _, t := range systemFeeds {
		if e.Table == t {
			return true
		}
	}
	return false
}

// fanOut hands e to every subscription allowed to see it. Authorization is
// evaluated in memory: the table's read rule once per event, the owner
// value once per event, then one comparison per subscriber.
func (h *Hub) fanOut(ctx context.Context, e *events.Event) {
	v := visibility{h: h, ctx: ctx, e: e}
	// The table's rule may need Postgres (metadata dropped by a schema
	// change): read it before taking the lock that subscribes wait on.
	if e.UserTable() && h.followed(e.Table) {
		v.ruleDone = true
		v.rule, v.ruleErr = h.tables.ReadRule(ctx, e.Table)
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	defer h.position.Store(e.ID)
	subs := h.byTable[e.Table]
	if len(subs) == 0 && (len(h.all) == 0 || !e.UserTable()) {
		return
	}
	frames := map[frameKey][]byte{}
	deliver := func(s *sub) {
		if !v.visible(s) {
			return
		}
		k := frameKey{s.id, s.js}
		f, ok := frames[k]
		if !ok {
			f = changeFrame(e, s.id, s.js)
			frames[k] = f
		}
		o := out{data: f, at: e.CreatedAt}
		if s.replaying {
			if len(s.pending) >= maxPending {
				s.c.closeWith(CloseSlow, "too many changes during resume: reconnect and resume with since")
				return
			}
			s.pending = append(s.pending, o)
			return
		}
		s.c.send(o)
	}
	for s := range subs {
		deliver(s)
	}
	if e.UserTable() {
		for s := range h.all {
			deliver(s)
		}
	}
}

// followed reports whether any subscription may want a user table's events.
func (h *Hub) followed(table string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.byTable[table]) > 0 || len(h.all) > 0
}

type frameKey struct {
	id string
	js bool
}

// visibility decides, for one event, which subscriptions may see it.
type visibility struct {
	h   *Hub
	ctx context.Context
	e   *events.Event

	ruleDone  bool
	rule      tables.Rule
	ruleErr   error
	ownerDone bool
	owner     string
}

func (v *visibility) visible(s *sub) bool {
	p := s.c.principal()
	if s.system {
		return p.IsSuperuser()
	}
	if !v.ruleDone {
		v.ruleDone = true
		v.rule, v.ruleErr = v.h.tables.ReadRule(v.ctx, v.e.Table)
	}
	if v.ruleErr != nil {
		return false
	}
	owner, err := v.rule.Check(p)
	if err != nil {
		return false
	}
	if owner == nil {
		return true
	}
	if !v.ownerDone {
		v.ownerDone = true
		v.owner = ownerValue(v.e, v.rule.OwnerColumn)
	}
	return v.owner != "" && v.owner == *owner
}

// ownerValue is the owner column's value in the event's row (the old row of
// a delete), as text; "" when missing or null.
func ownerValue(e *events.Event, column string) string {
	raw := e.Row
	if e.Op == events.OpDelete {
		raw = e.OldRow
	}
	var row map[string]json.RawMessage
	if json.Unmarshal(raw, &row) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(row[column], &s) != nil {
		return ""
	}
	return s
}

// sweep pings idle clients and ends connections whose token expired (they
// may re-authenticate with a fresh one before).
func (h *Hub) sweep(now time.Time) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.conns {
		if p := c.principal(); p != nil && !p.Expires.IsZero() && now.After(p.Expires) {
			c.closeWith(ClosePolicy, "token expired: authenticate again")
			continue
		}
		c.ping(now, h.cfg.PingInterval)
	}
}

// userChanged applies a change of selfdb.users to the connections of that
// user at once: a deleted or deactivated account loses its sockets, a
// demoted superuser its system feeds.
func (h *Hub) userChanged(e *events.Event) {
	var row struct {
		ID          uuid.UUID `json:"id"`
		Email       string    `json:"email"`
		IsActive    bool      `json:"is_active"`
		IsSuperuser bool      `json:"is_superuser"`
	}
	raw := e.Row
	if e.Op == events.OpDelete {
		raw = e.OldRow
	}
	if json.Unmarshal(raw, &row) != nil || row.ID == uuid.Nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.byUser[row.ID] {
		if e.Op == events.OpDelete || !row.IsActive {
			c.closeWith(ClosePolicy, "account deactivated or deleted")
			continue
		}
		old := c.principal()
		p := identity.User(row.ID, row.Email, row.IsSuperuser)
		p.Expires = old.Expires
		c.p.Store(p)
		if old.IsSuperuser() && !p.IsSuperuser() {
			for id, s := range c.subs {
				if s.system {
					h.dropSub(s)
					delete(c.subs, id)
					c.send(out{data: errorFrame(identity.ErrNotEnoughPrivileges.WithMessage("No longer a superuser: subscription ended"), id)})
				}
			}
		}
	}
}

// closeAll closes every connection.
func (h *Hub) closeAll(code int, reason string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.conns {
		c.closeWith(code, reason)
	}
}

// Drain closes every connection with 1001 when the server stops, and waits
// (within ctx) for them to go.
func (h *Hub) Drain(ctx context.Context) {
	h.closeAll(CloseGoingAway, "server shutting down")
	for {
		h.mu.RLock()
		n := len(h.conns)
		h.mu.RUnlock()
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// authenticate sets the connection's principal from a token (or the anon
// key); on failure it sends the protocol's refusal, closes, and reports
// false.
func (h *Hub) authenticate(ctx context.Context, c *conn, token string) bool {
	var p *identity.Principal
	switch {
	case token == "":
	case subtle.ConstantTimeCompare([]byte(token), h.anonKey) == 1:
		p = identity.Anon
	default:
		rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		resolved, err := h.resolver.Resolve(rctx, token)
		cancel()
		if err != nil {
			h.logger.Warn("realtime: authentication failed", zap.Error(err))
			c.send(out{data: authErrorFrame("Authentication unavailable, try again")})
			c.closeWith(CloseInternal, "authentication unavailable")
			return false
		}
		if resolved.IsUser() {
			p = resolved
		}
	}
	if p == nil {
		c.send(out{data: authErrorFrame("Invalid authentication")})
		c.closeWith(ClosePolicy, "invalid authentication")
		return false
	}
	h.setPrincipal(c, p)
	uid := ""
	if p.IsUser() {
		uid = p.ID.String()
	}
	c.send(out{data: connectedFrame(uid)})
	return true
}

// setPrincipal registers the connection under its (new) identity. A
// connection that becomes another user loses its subscriptions: they were
// authorized for the previous one.
func (h *Hub) setPrincipal(c *conn, p *identity.Principal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := c.principal()
	if old != nil && old.ID != p.ID {
		for id, s := range c.subs {
			h.dropSub(s)
			delete(c.subs, id)
		}
	}
	if old == nil {
		h.conns[c] = struct{}{}
		h.metrics.connections.Inc()
	} else if oid := c.userID(); oid != uuid.Nil {
		delete(h.byUser[oid], c)
		if len(h.byUser[oid]) == 0 {
			delete(h.byUser, oid)
		}
	}
	c.p.Store(p)
	if p.IsUser() {
		if h.byUser[p.ID] == nil {
			h.byUser[p.ID] = map[*conn]struct{}{}
		}
		h.byUser[p.ID][c] = struct{}{}
	}
}

// removeConn forgets a connection and its subscriptions.
func (h *Hub) removeConn(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c]; !ok {
		return
	}
	delete(h.conns, c)
	h.metrics.connections.Dec()
	if uid := c.userID(); uid != uuid.Nil {
		delete(h.byUser[uid], c)
		if len(h.byUser[uid]) == 0 {
			delete(h.byUser, uid)
		}
	}
	for id, s := range c.subs {
		h.dropSub(s)
		delete(c.subs, id)
	}
}

// dropSub removes a subscription from the indexes (h.mu held).
func (h *Hub) dropSub(s *sub) {
	h.metrics.subscriptions.Dec()
	if s.table == "" && !s.system {
		delete(h.all, s)
		return
	}
	key := s.key()
	delete(h.byTable[key], s)
	if len(h.byTable[key]) == 0 {
		delete(h.byTable, key)
	}
}

// key is the change-log table a subscription follows.
func (s *sub) key() string { return s.table }

// subscribe handles a subscribe frame.
func (h *Hub) subscribe(ctx context.Context, c *conn, f *inFrame) {
	id, table, system, js, ok := f.target()
	if !ok {
		c.send(out{data: errorFrame(ErrInvalidSubscription, "")})
		return
	}
	since, hasSince, valid := f.since()
	if !valid {
		c.send(out{data: errorFrame(ErrInvalidSince, id)})
		return
	}
	p := c.principal()
	switch {
	case system:
		if !p.IsSuperuser() {
			c.send(out{data: errorFrame(identity.ErrNotEnoughPrivileges.WithMessage("Only superusers may follow %s", id), id)})
			return
		}
	case table != "":
		if !tables.ValidIdent(table) {
			c.send(out{data: errorFrame(tables.ErrInvalidIdentifier.WithMessage("Invalid table name '%s'", table), id)})
			return
		}
		rule, err := h.tables.ReadRule(ctx, table)
		if err == nil {
			_, err = rule.Check(p)
		}
		if err != nil {
			ae := apperr.From(err)
			msg := ae.Message
			if ae.Kind == apperr.KindInternal {
				h.logger.Error("realtime: subscribe failed", zap.Error(err))
				msg = "Internal server error"
			}
			c.send(out{data: errorFrame(ae.WithMessage("%s", msg), id)})
			return
		}
	}
	h.mu.Lock()
	if existing := c.subs[id]; existing != nil {
		if js {
			existing.refs++
		}
		h.mu.Unlock()
		c.send(out{data: subFrame("subscribed", id, js)})
		return
	}
	if len(c.subs) >= h.cfg.MaxSubscriptions {
		h.mu.Unlock()
		c.send(out{data: errorFrame(ErrTooManySubscriptions.WithMessage("A connection may hold %d subscriptions", h.cfg.MaxSubscriptions), id)})
		return
	}
	s := &sub{c: c, id: id, table: table, system: system, js: js, refs: 1, replaying: hasSince}
	c.subs[id] = s
	if table == "" && !system {
		h.all[s] = struct{}{}
	} else {
		if h.byTable[table] == nil {
			h.byTable[table] = map[*sub]struct{}{}
		}
		h.byTable[table][s] = struct{}{}
	}
	h.metrics.subscriptions.Inc()
	upto := h.position.Load()
	h.mu.Unlock()
	c.send(out{data: subFrame("subscribed", id, js)})
	if hasSince {
		h.replay(ctx, s, since, upto)
	}
}

// replay sends what the subscription missed after since, up to where the
// live stream took over, then what the live stream held back meanwhile:
// in order, without gaps or duplicates.
func (h *Hub) replay(ctx context.Context, s *sub, since, upto int64) {
	var filter []string
	if s.table != "" {
		filter = []string{s.table}
	}
	err := h.log.Since(ctx, since, upto, filter, func(e *events.Event) error {
		if s.table == "" && !e.UserTable() {
			return nil
		}
		v := visibility{h: h, ctx: ctx, e: e}
		if !v.visible(s) {
			return nil
		}
		// Backpressure: a long replay waits for the client instead of
		// overflowing its queue.
		for {
			n, done := s.c.queued()
			if done {
				return errConnGone
			}
			if n < h.cfg.SendQueue/2 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		s.c.send(out{data: changeFrame(e, s.id, s.js), at: e.CreatedAt})
		return nil
	})
	h.mu.Lock()
	pending := s.pending
	s.pending, s.replaying = nil, false
	if err != nil && !errors.Is(err, errConnGone) {
		if cur := s.c.subs[s.id]; cur == s {
			h.dropSub(s)
			delete(s.c.subs, s.id)
		}
		pending = nil
	}
	h.mu.Unlock()
	switch {
	case errors.Is(err, events.ErrTooOld):
		s.c.send(out{data: errorFrame(events.ErrTooOld.WithMessage("The events after since are older than the retention window and were pruned; fetch the current rows and subscribe without since"), s.id)})
		return
	case errors.Is(err, errConnGone):
		return
	case err != nil:
		h.logger.Warn("realtime: replay failed", zap.Error(err))
		c := apperr.From(err)
		s.c.send(out{data: errorFrame(c.WithMessage("Could not replay the missed events; subscribe again"), s.id)})
		return
	}
	for _, o := range pending {
		s.c.send(o)
	}
}

var errConnGone = errors.New("realtime: connection gone")

// unsubscribe handles an unsubscribe frame.
func (h *Hub) unsubscribe(c *conn, f *inFrame) {
	id := f.unsubID()
	if id == "" {
		c.send(out{data: errorFrame(ErrInvalidSubscription.WithMessage("An unsubscribe frame needs a subscription_id or a channel"), "")})
		return
	}
	h.mu.Lock()
	js := f.SubscriptionID == nil
	if s := c.subs[id]; s != nil {
		js = s.js
		if s.refs > 1 {
			s.refs--
		} else {
			h.dropSub(s)
			delete(c.subs, id)
		}
	}
	h.mu.Unlock()
	c.send(out{data: subFrame("unsubscribed", id, js)})
}

// metrics are realtime's Prometheus series.
type metrics struct {
	connections   prometheus.Gauge
	subscriptions prometheus.Gauge
	delivered     prometheus.Counter
	dropped       prometheus.Counter
	slow          prometheus.Counter
	lag           prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "selfdb_realtime_connections", Help: "Authenticated WebSocket connections.",
		}),
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "selfdb_realtime_subscriptions", Help: "Subscriptions of the connections.",
		}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "selfdb_realtime_events_delivered_total", Help: "Change frames written to clients.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "selfdb_realtime_events_dropped_total", Help: "Frames dropped because their client was too slow (it is disconnected).",
		}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "selfdb_realtime_slow_disconnects_total", Help: "Clients disconnected for not reading fast enough (close 1013).",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "selfdb_realtime_lag_seconds",
			Help:    "Time from a change being written (its transaction's clock) to its frame being written to a client.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	reg.MustRegister(m.connections, m.subscriptions, m.delivered, m.dropped, m.slow, m.lag)
	return m
}

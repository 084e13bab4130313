package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/selfdb/selfdb/platform/config"
)

// tombstoneTTL is how long an invalidation guards a key against fills by
// loads that began before it (see fill); longer than any load from Postgres
// takes.
const tombstoneTTL = 5 * time.Second

// maxPending bounds the invalidations kept while memcached is unreachable;
// past it, recovery flushes the whole cache instead of replaying.
const maxPending = 10000

var tombstone = []byte{0}

// Cache is the process's handle on memcached. The zero of servers disables it:
// every Get misses and every write is a no-op.
type Cache struct {
	client *memcache.Client
	prefix string
	ttl    time.Duration
	log    *zap.Logger
	group  singleflight.Group
	br     breaker
	gets   batcher

	pendingMu sync.Mutex
	pending   map[string]struct{}
	overflow  bool
	// hasPending mirrors len(pending) > 0 (or overflow) without the lock,
	// so that every successful call can cheaply check for work to replay.
	hasPending atomic.Bool
	replayRun  atomic.Bool
	replaying  sync.WaitGroup
	closed     atomic.Bool

	// The last live check (Alive): when it started and what it found.
	aliveMu sync.Mutex
	aliveAt time.Time
	aliveUp bool

	requests *prometheus.CounterVec
	up       prometheus.Gauge
}

// aliveFor is how long Alive reuses a live check's answer.
const aliveFor = time.Second

// aliveFlight is Alive's singleflight key; no cache key can be it (keys
// never hold a NUL).
const aliveFlight = "\x00alive"

// New builds the cache from the configuration and registers its metrics. It
// never fails because memcached is down.
func New(cfg *config.Config, log *zap.Logger, reg prometheus.Registerer) *Cache {
	c := &Cache{
		prefix:  cfg.CachePrefix,
		ttl:     cfg.CacheTTLDuration(),
		log:     log.Named("cache"),
		pending: map[string]struct{}{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "selfdb_cache_requests_total",
			Help: "Cache look-ups and writes by result (hit, miss, error, set, delete).",
		}, []string{"result"}),
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "selfdb_cache_up",
			Help: "1 while memcached is reachable (circuit closed), 0 while the circuit is open or the cache is disabled.",
		}),
	}
	reg.MustRegister(c.requests, c.up)
	if servers := cfg.MemcachedServers(); len(servers) > 0 {
		c.client = memcache.New(servers...)
		c.client.Timeout = cfg.MemcachedTimeout
		c.client.MaxIdleConns = 64
		c.gets = batcher{one: c.client.Get, many: c.client.GetMulti}
	}
	c.br.onChange = c.stateChanged
	return c
}

// Enabled reports whether a memcached address is configured.
func (c *Cache) Enabled() bool { return c.client != nil }

// Up reports whether memcached is configured and its circuit is closed.
func (c *Cache) Up() bool { return c.client != nil && c.br.closed() }

// Start pings memcached once so that the breaker starts in the right state.
func (c *Cache) Start() {
	if c.client == nil {
		c.log.Info("memcached disabled (MEMCACHED_ADDR is empty)")
		return
	}
	c.Ping()
	if c.Up() {
		c.up.Set(1)
	}
}

// Ping checks memcached now (ignoring the back-off) and reports whether it is up.
func (c *Cache) Ping() bool {
	if c.client == nil {
		return false
	}
	err := c.client.Ping()
	c.br.record(isFailure(err), true)
	if err != nil {
		c.requests.WithLabelValues("error").Inc()
	}
	return err == nil
}

// Alive reports whether memcached answers now, from a live check rather than
// from how the last requests fared (with no traffic the breaker would say
// "up" long after memcached died): a ping of every server, each bounded by
// MEMCACHED_TIMEOUT, run at most once per second; concurrent callers share
// it, and its answer is reused for a second. /readyz reports it.
func (c *Cache) Alive() bool {
	if c.client == nil {
		return false
	}
	c.aliveMu.Lock()
	if !c.aliveAt.IsZero() && time.Since(c.aliveAt) < aliveFor {
		up := c.aliveUp
		c.aliveMu.Unlock()
		return up
	}
	c.aliveMu.Unlock()
	v, _, _ := c.group.Do(aliveFlight, func() (any, error) {
		at := time.Now()
		up := c.Ping()
		c.aliveMu.Lock()
		c.aliveAt, c.aliveUp = at, up
		c.aliveMu.Unlock()
		return up, nil
	})
	return v.(bool)
}

// Key builds a full key from its parts: Key("users", id) = "<prefix>users:<id>".
func (c *Cache) Key(parts ...string) string {
	n := len(c.prefix)
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, c.prefix...)
	for i, p := range parts {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, p...)
	}
	return safeKey(string(b))
}

// safeKey keeps keys within memcached's rules (≤250 bytes, no spaces or
// control characters) by hashing any that aren't.
func safeKey(k string) string {
	if legalKey(k) {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return "h:" + hex.EncodeToString(sum[:])
}

// legalKey is memcached's (and gomemcache's) rule for keys.
func legalKey(k string) bool {
	if len(k) > 250 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] == 0x7f {
			return false
		}
	}
	return true
}

// isFailure tells memcached being unreachable or broken from ordinary answers.
func isFailure(err error) bool {
	switch {
	case err == nil,
		errors.Is(err, memcache.ErrCacheMiss),
		errors.Is(err, memcache.ErrNotStored),
		errors.Is(err, memcache.ErrCASConflict),
		errors.Is(err, memcache.ErrMalformedKey):
		return false
	}
	return true
}

// do runs op if the breaker lets it, recording the outcome.
func (c *Cache) do(op func() error) error {
	if c.client == nil {
		return errDisabled
	}
	probe, ok := c.br.allow()
	if !ok {
		return errOpen
	}
	err := op()
	c.br.record(isFailure(err), probe)
	if isFailure(err) {
		c.requests.WithLabelValues("error").Inc()
	} else if c.hasPending.Load() {
		// An invalidation failed on a blip that never opened the breaker:
		// memcached answers again, so write it now rather than at the next
		// outage's recovery (other instances would serve the old value).
		c.startReplay()
	}
	return err
}

var (
	errDisabled = errors.New("cache: disabled")
	errOpen     = errors.New("cache: circuit open")
)

// Get loads key into dst. It reports a hit; any failure is a miss.
func (c *Cache) Get(key string, dst any) bool {
	if hit, _ := c.lookup(key, dst); !hit {
		c.requests.WithLabelValues("miss").Inc()
		return false
	}
	c.requests.WithLabelValues("hit").Inc()
	return true
}

// lookup is Get without the hit/miss counters. On a miss over a tombstone it
// also returns the tombstone's CAS id: a fill may replace exactly that
// tombstone and nothing newer (see fill).
func (c *Cache) lookup(key string, dst any) (hit bool, tombCAS uint64) {
	// A key invalidated while memcached was unreachable may still hold its
	// old value there until replay writes the tombstone: it misses until then.
	// Checked before the fetch, so a value read after the check is at least
	// as new as the tombstone. The fetch still happens: it may be the
	// breaker's probe, and recovery (hence the replay) depends on one.
	pending := c.isPending(key)
	var item *memcache.Item
	err := c.do(func() (err error) {
		if !legalKey(key) {
			// Alone: in a batch it would fail the other keys too.
			return memcache.ErrMalformedKey
		}
		item, err = c.gets.get(key)
		return err
	})
	switch {
	case pending || err != nil:
		return false, 0
	case len(item.Value) == 0 || item.Value[0] == tombstone[0]:
		return false, item.CasID
	}
	return json.Unmarshal(item.Value, dst) == nil, 0
}

// Set stores v under key for the default TTL (or ttl if positive).
func (c *Cache) Set(key string, v any, ttl time.Duration) {
	_ = c.store(key, v, ttl, false)
}

// Add stores v under key unless the key holds a value or a tombstone; it
// reports whether v was stored.
func (c *Cache) Add(key string, v any, ttl time.Duration) bool {
	return c.store(key, v, ttl, true) == nil
}

// Put is Set that reports failure: memcached unreachable, the value not
// encodable.
func (c *Cache) Put(key string, v any, ttl time.Duration) error {
	return c.store(key, v, ttl, false)
}

func (c *Cache) store(key string, v any, ttl time.Duration, onlyIfAbsent bool) error {
	if c.client == nil {
		return errDisabled
	}
	b, err := json.Marshal(v)
	if err != nil {
		c.log.Warn("cache: value not encodable", zap.String("key", key), zap.Error(err))
		return err
	}
	item := &memcache.Item{Key: key, Value: b, Expiration: c.seconds(ttl)}
	err = c.do(func() error {
		if onlyIfAbsent {
			return c.client.Add(item)
		}
		return c.client.Set(item)
	})
	c.requests.WithLabelValues("set").Inc()
	return err
}

// fill stores a value loaded after a miss. Over a tombstone (tombCAS != 0)
// it is a compare-and-swap: it fails if the key was invalidated again since
// the miss, so a load that may have read the row before that writer
// committed is never cached, yet a key is cacheable again as soon as one
// load starts after its last invalidation. Otherwise it is an Add, which
// fails on any value or tombstone written since the miss.
func (c *Cache) fill(key string, v any, ttl time.Duration, tombCAS uint64) {
	if tombCAS == 0 {
		_ = c.store(key, v, ttl, true)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		c.log.Warn("cache: value not encodable", zap.String("key", key), zap.Error(err))
		return
	}
	_ = c.do(func() error {
		return c.client.CompareAndSwap(&memcache.Item{Key: key, Value: b, Expiration: c.seconds(ttl), CasID: tombCAS})
	})
	c.requests.WithLabelValues("set").Inc()
}

func (c *Cache) seconds(ttl time.Duration) int32 {
	if ttl <= 0 {
		ttl = c.ttl
	}
	s := int32(ttl / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// Invalidate makes keys miss everywhere (every instance shares memcached).
// Call it after the write has committed. While memcached is unreachable the
// keys are remembered and invalidated when it returns.
func (c *Cache) Invalidate(keys ...string) {
	if c.client == nil {
		return
	}
	for _, k := range keys {
		if isFailure(c.writeTombstone(k)) {
			c.remember(k)
		}
	}
}

// writeTombstone replaces k's value with the tombstone.
func (c *Cache) writeTombstone(k string) error {
	c.requests.WithLabelValues("delete").Inc()
	return c.do(func() error {
		return c.client.Set(&memcache.Item{Key: k, Value: tombstone, Expiration: c.seconds(tombstoneTTL)})
	})
}

func (c *Cache) isPending(k string) bool {
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	if c.overflow {
		return true
	}
	_, ok := c.pending[k]
	return ok
}

func (c *Cache) remember(k string) {
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	c.hasPending.Store(true)
	if len(c.pending) >= maxPending {
		c.overflow = true
		return
	}
	c.pending[k] = struct{}{}
}

// startReplay runs replay in the background unless one is running or the
// cache is closing.
func (c *Cache) startReplay() {
	if c.closed.Load() || !c.replayRun.CompareAndSwap(false, true) {
		return
	}
	c.replaying.Add(1)
	go func() {
		defer c.replaying.Done()
		defer c.replayRun.Store(false)
		c.replay()
	}()
}

// replay runs the invalidations missed while memcached was unreachable. A
// key leaves the pending set only once its tombstone is written, so it keeps
// missing until then; a failed write is retried after the next call that
// reaches memcached.
func (c *Cache) replay() {
	c.pendingMu.Lock()
	keys := make([]string, 0, len(c.pending))
	for k := range c.pending {
		keys = append(keys, k)
	}
	overflow := c.overflow
	c.pendingMu.Unlock()
	if overflow {
		if err := c.do(c.client.FlushAll); err != nil {
			c.log.Warn("cache: flush after outage failed", zap.Error(err))
			return
		}
		c.pendingMu.Lock()
		for _, k := range keys {
			delete(c.pending, k)
		}
		c.overflow = false
		c.hasPending.Store(len(c.pending) > 0)
		c.pendingMu.Unlock()
		return
	}
	for _, k := range keys {
		if isFailure(c.writeTombstone(k)) {
			continue
		}
		c.pendingMu.Lock()
		delete(c.pending, k)
		c.hasPending.Store(len(c.pending) > 0 || c.overflow)
		c.pendingMu.Unlock()
	}
}

// GetOrLoad returns the cached value for key, or calls load once per process
// for concurrent callers, caches its result (for ttl, or the default TTL) and
// returns it. Errors from load are returned and not cached.
func GetOrLoad[T any](ctx context.Context, c *Cache, key string, ttl time.Duration, load func(ctx context.Context) (T, error)) (T, error) {
	var v T
	if c.Get(key, &v) {
		return v, nil
	}
	ch := c.group.DoChan(key, func() (any, error) {
		// A flight that finished between our miss and DoChan has stored the
		// value: look again so that the loader runs once, not once per wave.
		var v T
		hit, tombCAS := c.lookup(key, &v)
		if hit {
			return v, nil
		}
		// The load outlives a caller that gives up: others may be waiting on it.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		v, err := load(lctx)
		if err != nil {
			return v, err
		}
		c.fill(key, v, ttl, tombCAS)
		return v, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return v, r.Err
		}
		return r.Val.(T), nil
	case <-ctx.Done():
		return v, ctx.Err()
	}
}

// Incr adds delta to the counter at key, creating it with ttl when absent,
// and returns the new value. It fails when memcached is unreachable; callers
// (rate limiters) then fall back to a per-process count.
func (c *Cache) Incr(key string, delta uint64, ttl time.Duration) (uint64, error) {
	var n uint64
	err := c.do(func() error {
		var err error
		for range 3 {
			n, err = c.client.Increment(key, delta)
			if !errors.Is(err, memcache.ErrCacheMiss) {
				return err
			}
			err = c.client.Add(&memcache.Item{Key: key, Value: []byte(strconv.FormatUint(delta, 10)), Expiration: c.seconds(ttl)})
			if err == nil {
				n = delta
				return nil
			}
			if !errors.Is(err, memcache.ErrNotStored) {
				return err
			}
		}
		return err
	})
	return n, err
}

// Decr takes delta off the counter at key (memcached stops at zero); a
// missing counter stays missing. It fails when memcached is unreachable.
func (c *Cache) Decr(key string, delta uint64) error {
	return c.do(func() error {
		_, err := c.client.Decrement(key, delta)
		if errors.Is(err, memcache.ErrCacheMiss) {
			return nil
		}
		return err
	})
}

// Delete removes key outright (counters, not cached rows: use Invalidate).
func (c *Cache) Delete(key string) {
	_ = c.do(func() error { return c.client.Delete(key) })
}

func (c *Cache) stateChanged(up bool) {
	if up {
		c.up.Set(1)
		c.log.Info("memcached reachable again; cache in use")
		c.startReplay()
		return
	}
	c.up.Set(0)
	c.log.Warn("memcached unreachable; serving from Postgres until it returns")
}

// Close waits for a running replay and releases idle connections.
func (c *Cache) Close() {
	c.closed.Store(true)
	c.replaying.Wait()
	if c.client != nil {
		_ = c.client.Close()
	}
}

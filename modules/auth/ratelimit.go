package auth

import (
	"strconv"
	"sync"
	"time"

	"github.com/selfdb/selfdb/platform/cache"
)

// Limiter counts events in fixed windows. Counters live in memcached (every
// instance shares them); while memcached is unreachable it counts in this
// process instead, so a limit always applies, per instance.
type Limiter struct {
	cache  *cache.Cache
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	local map[string]localCount
}

type localCount struct {
	n   uint64
	end time.Time
}

// maxLocal bounds the in-process counters; expired ones are dropped past it.
const maxLocal = 4096

// NewLimiter builds a limiter with windows of the given length.
func NewLimiter(c *cache.Cache, window time.Duration) *Limiter {
	return &Limiter{cache: c, window: window, now: time.Now, local: map[string]localCount{}}
}

// Hit counts one event for subject in scope and reports whether it is within
// limit; when not, retry is how long until the window ends.
func (l *Limiter) Hit(scope, subject string, limit int) (ok bool, retry time.Duration) {
	_, ok, retry = l.Reserve(scope, subject, limit)
	return ok, retry
}

// Reservation is one counted event that its caller may take back.
type Reservation struct {
	l     *Limiter
	key   string // names the window, so a release never credits a later one
	local bool   // counted in process, memcached being unreachable
}

// Reserve counts one event for subject in scope before the caller knows
// whether it should count, and reports whether it is within limit. Counting
// first is what makes a limit hold under concurrency: checking, working, then
// counting let every parallel attempt pass the check before any was counted.
// Release takes the event back when it turns out not to count.
func (l *Limiter) Reserve(scope, subject string, limit int) (r Reservation, ok bool, retry time.Duration) {
	now := l.now()
	start := now.Truncate(l.window)
	end := start.Add(l.window)
	retry = end.Sub(now)
	r = Reservation{l: l, key: l.cache.Key("rl", scope, strconv.FormatInt(start.Unix(), 10), subject)}
	// The counter outlives its window a little so a clock skew between
	// instances can't restart it early.
	n, err := l.cache.Incr(r.key, 1, l.window+time.Minute)
	if err != nil {
		r.local = true
		n = l.addLocal(r.key, end, now)
	}
	return r, limit >= 0 && n <= uint64(limit), retry
}

// Release takes the reserved event back from the counter it went to. When
// memcached became unreachable in between, the event stays counted.
func (r Reservation) Release() {
	if r.l == nil {
		return
	}
	if !r.local {
		_ = r.l.cache.Decr(r.key, 1)
		return
	}
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	if c, ok := r.l.local[r.key]; ok && c.n > 0 {
		c.n--
		r.l.local[r.key] = c
	}
}

func (l *Limiter) addLocal(key string, end, now time.Time) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.local) >= maxLocal {
		for k, v := range l.local {
			if !v.end.After(now) {
				delete(l.local, k)
			}
		}
	}
	c := l.local[key]
	if !c.end.After(now) {
		c = localCount{end: end}
	}
	c.n++
	l.local[key] = c
	return c.n
}

// retryAfter renders a wait as whole seconds for the Retry-After header.
func retryAfter(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

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
	return l.add(scope, subject, 1, limit)
}

// Over reports, without counting, whether subject has reached limit in scope.
func (l *Limiter) Over(scope, subject string, limit int) (over bool, retry time.Duration) {
	ok, retry := l.add(scope, subject, 0, limit-1)
	return !ok, retry
}

func (l *Limiter) add(scope, subject string, delta uint64, limit int) (bool, time.Duration) {
	now := l.now()
	start := now.Truncate(l.window)
	end := start.Add(l.window)
	retry := end.Sub(now)
	key := l.cache.Key("rl", scope, strconv.FormatInt(start.Unix(), 10), subject)
	// The counter outlives its window a little so a clock skew between
	// instances can't restart it early.
	n, err := l.cache.Incr(key, delta, l.window+time.Minute)
	if err != nil {
		n = l.addLocal(key, delta, end, now)
	}
	if limit < 0 || n > uint64(limit) {
		return false, retry
	}
	return true, retry
}

func (l *Limiter) addLocal(key string, delta uint64, end, now time.Time) uint64 {
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
	c.n += delta
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

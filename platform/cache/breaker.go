package cache

import (
	"sync"
	"time"
)

// breaker opens after consecutive failures so that requests stop waiting on
// an unreachable memcached, then lets one probe through after a back-off that
// doubles up to maxBackoff.
type breaker struct {
	mu       sync.Mutex
	open     bool
	fails    int
	until    time.Time
	backoff  time.Duration
	probing  bool
	onChange func(up bool)
}

const (
	failThreshold = 3
	minBackoff    = 500 * time.Millisecond
	maxBackoff    = 15 * time.Second
)

func (b *breaker) closed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.open
}

// allow says whether a call may go to memcached, and whether it is the probe.
func (b *breaker) allow() (probe, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return false, true
	}
	if b.probing || time.Now().Before(b.until) {
		return false, false
	}
	b.probing = true
	return true, true
}

// record notes a call's outcome; probe marks the one call let through while open.
func (b *breaker) record(failed, probe bool) {
	b.mu.Lock()
	var changed, up bool
	if probe {
		b.probing = false
	}
	if failed {
		b.fails++
		if b.open && probe {
			b.backoff = min(b.backoff*2, maxBackoff)
			b.until = time.Now().Add(b.backoff)
		} else if !b.open && (b.fails >= failThreshold || probe) {
			b.open, changed, up = true, true, false
			b.backoff = minBackoff
			b.until = time.Now().Add(b.backoff)
		}
	} else {
		b.fails = 0
		if b.open {
			b.open, changed, up = false, true, true
		}
	}
	b.mu.Unlock()
	if changed && b.onChange != nil {
		b.onChange(up)
	}
}

package cache

import (
	"context"
	"sync"
	"time"
)

// Bounds of a Fences.
const (
	fencesMax = 100000
	// FenceSlack covers a load that read Postgres before a change and wrote
	// memcached after it (GetOrLoad bounds a load to 30 s).
	FenceSlack = 35 * time.Second
)

// Fences marks keys whose memcached copy may be stale because a change was
// heard (from the change log) that the writer's invalidation may not have
// reached memcached with (memcached stalled). Until the copy is repaired,
// or could only have expired, a fenced key is read from Postgres:
// GetOrLoadFenced. So a change made on one instance applies on every other
// one as soon as it hears it, whatever memcached does.
type Fences struct {
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	until    map[string]time.Time
	allUntil time.Time
}

// NewFences builds fences that last the cache's TTL plus FenceSlack.
func NewFences(c *Cache) *Fences {
	return &Fences{ttl: c.ttl + FenceSlack, now: time.Now, until: map[string]time.Time{}}
}

// Fence marks key. Past fencesMax keys every key is fenced for a while
// instead (as after lost events).
func (f *Fences) Fence(key string) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.until) >= fencesMax {
		clear(f.until)
		f.allUntil = now.Add(f.ttl)
		return
	}
	f.until[key] = now.Add(f.ttl)
}

// FenceAll marks every key (events may have been missed).
func (f *Fences) FenceAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.until)
	f.allUntil = f.now().Add(f.ttl)
}

// Fenced reports whether key's memcached copy may be stale.
func (f *Fences) Fenced(key string) bool {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	return now.Before(f.allUntil) || now.Before(f.until[key])
}

func (f *Fences) lift(key string) {
	f.mu.Lock()
	delete(f.until, key)
	f.mu.Unlock()
}

// GetOrLoadFenced is GetOrLoad for keys that change-log events fence: a
// fenced key is loaded from Postgres and the value written over whatever
// memcached holds (fills of stale loads are Add or CAS, which then fail),
// which repairs memcached and lifts the fence.
func GetOrLoadFenced[T any](ctx context.Context, c *Cache, f *Fences, key string, ttl time.Duration, load func(ctx context.Context) (T, error)) (T, error) {
	if !f.Fenced(key) {
		return GetOrLoad(ctx, c, key, ttl, load)
	}
	v, err := load(ctx)
	if err == nil && c.Put(key, v, ttl) == nil {
		f.lift(key)
	}
	return v, err
}

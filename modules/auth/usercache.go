package auth

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/events"
)

// localUsersMax bounds the in-process copy of user records.
const localUsersMax = 10000

// userCache answers "which account is this id?" for every authenticated
// request: an in-process copy in front of memcached in front of Postgres.
//
// It stays exact across instances through the change log, whatever
// memcached does: every instance hears each change of selfdb.users (a bus
// handler, run before the change counts as heard), drops its copy and
// fences the id: until this instance has written the record read from
// Postgres over memcached's (or any copy written before the change has
// expired), that user is read from Postgres. So a user deactivated on
// instance A while memcached stalls is refused on instance B as soon as B
// hears the event (milliseconds), not CACHE_TTL later. The in-process copy is
// used only while the change-log reader is live.
type userCache struct {
	cache *cache.Cache
	bus   *events.Bus
	repo  userLoader
	ttl   time.Duration // CACHE_TTL: memcached entries and in-process copies
	now   func() time.Time

	fences *cache.Fences

	mu    sync.RWMutex
	gen   uint64
	local map[uuid.UUID]localUser
}

type localUser struct {
	u   *User
	exp time.Time
}

func newUserCache(c *cache.Cache, bus *events.Bus, repo userLoader, cfg *config.Config) *userCache {
	uc := &userCache{cache: c, bus: bus, repo: repo, ttl: cfg.CacheTTLDuration(), now: time.Now,
		fences: cache.NewFences(c), local: map[uuid.UUID]localUser{}}
	bus.Handle(events.Of(events.TopicUserChanged, events.TopicUserDeleted), func(e *events.Event) {
		if id, ok := rowID(e); ok {
			uc.forget(id)
		}
	})
	return uc
}

// get returns the user, or nil for none.
func (c *userCache) get(ctx context.Context, id uuid.UUID) (*User, error) {
	now := c.now()
	useLocal := c.bus.Live()
	c.mu.RLock()
	l, hit := c.local[id]
	gen := c.gen
	c.mu.RUnlock()
	if useLocal && hit && now.Before(l.exp) {
		return l.u, nil
	}
	u, err := cache.GetOrLoadFenced(ctx, c.cache, c.fences, UserCacheKey(c.cache, id), 0, func(ctx context.Context) (*User, error) {
		return c.repo.UserByID(ctx, id)
	})
	if err != nil || !useLocal {
		return u, err
	}
	c.mu.Lock()
	// A change heard while we loaded may have made u stale: keep nothing.
	if c.gen == gen {
		if len(c.local) >= localUsersMax {
			clear(c.local)
		}
		c.local[id] = localUser{u: u, exp: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return u, nil
}

// invalidate forgets id here and in memcached, and fences memcached's copy:
// the writer's side (the other instances forget it when they hear the
// change).
func (c *userCache) invalidate(id uuid.UUID) {
	c.forget(id)
	c.cache.Invalidate(UserCacheKey(c.cache, id))
}

// forget drops this process's copy of id and fences memcached's.
func (c *userCache) forget(id uuid.UUID) {
	c.mu.Lock()
	c.gen++
	delete(c.local, id)
	c.mu.Unlock()
	c.fences.Fence(UserCacheKey(c.cache, id))
}

// rowID is the "id" of an event's row (or old row, for a delete).
func rowID(e *events.Event) (uuid.UUID, bool) {
	var r struct {
		ID uuid.UUID `json:"id"`
	}
	raw := e.Row
	if string(raw) == "null" {
		raw = e.OldRow
	}
	if json.Unmarshal(raw, &r) != nil || r.ID == uuid.Nil {
		return uuid.Nil, false
	}
	return r.ID, true
}

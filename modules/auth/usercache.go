package auth

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/events"
	"github.com/selfdb/selfdb/platform/worker"
)

// Bounds of the in-process copy of user records.
const (
	localUsersMax = 10000
	fencesMax     = 100000
	// fenceSlack covers a load that read Postgres before a change and wrote
	// memcached after it (GetOrLoad bounds a load to 30 s).
	fenceSlack = 35 * time.Second
)

// userCache answers "which account is this id?" for every authenticated
// request: an in-process copy in front of memcached in front of Postgres.
//
// It stays exact across instances through the change log, whatever
// memcached does: every instance hears each change of selfdb.users (the
// events worker), drops its copy, tombstones memcached, and fences the id:
// until this instance has written the record read from Postgres over
// memcached's (or any copy written before the change has expired), that
// user is read from Postgres. So a user deactivated on instance A while
// memcached stalls is refused on instance B as soon as B hears the event
// (milliseconds), not CACHE_TTL later. The in-process copy is used only
// while the event subscription runs and the change-log reader is live.
type userCache struct {
	cache *cache.Cache
	bus   *events.Bus
	repo  userLoader
	ttl   time.Duration // CACHE_TTL: memcached entries and in-process copies
	now   func() time.Time

	active atomic.Bool

	mu            sync.RWMutex
	gen           uint64
	local         map[uuid.UUID]localUser
	fences        map[uuid.UUID]time.Time
	distrustUntil time.Time
}

type localUser struct {
	u   *User
	exp time.Time
}

func newUserCache(c *cache.Cache, bus *events.Bus, repo userLoader, cfg *config.Config) *userCache {
	return &userCache{cache: c, bus: bus, repo: repo, ttl: cfg.CacheTTLDuration(), now: time.Now,
		local: map[uuid.UUID]localUser{}, fences: map[uuid.UUID]time.Time{}}
}

// get returns the user, or nil for none.
func (c *userCache) get(ctx context.Context, id uuid.UUID) (*User, error) {
	now := c.now()
	useLocal := c.active.Load() && c.bus.Live()
	c.mu.RLock()
	l, hit := c.local[id]
	gen := c.gen
	fenced := now.Before(c.distrustUntil) || now.Before(c.fences[id])
	c.mu.RUnlock()
	if useLocal && hit && now.Before(l.exp) {
		return l.u, nil
	}
	var u *User
	var err error
	if fenced {
		// Postgres has the truth; writing it over whatever memcached holds
		// (fills of stale loads are Add or CAS and fail on it) repairs
		// memcached, and the fence can go.
		if u, err = c.repo.UserByID(ctx, id); err == nil && c.cache.Put(UserCacheKey(c.cache, id), u, 0) == nil {
			c.mu.Lock()
			delete(c.fences, id)
			c.mu.Unlock()
		}
	} else {
		u, err = cache.GetOrLoad(ctx, c.cache, UserCacheKey(c.cache, id), 0, func(ctx context.Context) (*User, error) {
			return c.repo.UserByID(ctx, id)
		})
	}
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

// invalidate forgets id here and in memcached, and fences memcached's copy.
func (c *userCache) invalidate(id uuid.UUID) {
	now := c.now()
	c.mu.Lock()
	c.gen++
	delete(c.local, id)
	if len(c.fences) >= fencesMax {
		clear(c.fences)
		c.distrustUntil = now.Add(c.ttl + fenceSlack)
	} else {
		c.fences[id] = now.Add(c.ttl + fenceSlack)
	}
	c.mu.Unlock()
	c.cache.Invalidate(UserCacheKey(c.cache, id))
}

// forgetAll drops every copy and distrusts memcached's user records for a
// TTL: for when events may have been missed.
func (c *userCache) forgetAll() {
	c.mu.Lock()
	c.gen++
	clear(c.local)
	clear(c.fences)
	c.distrustUntil = c.now().Add(c.ttl + fenceSlack)
	c.mu.Unlock()
}

// newUserEvents is the worker that applies the change log's user events to
// the cache.
func newUserEvents(c *userCache, log *zap.Logger) worker.Worker {
	log = log.Named("auth")
	return worker.New("auth.user-events", func(ctx context.Context) error {
		sub, _ := c.bus.Subscribe("auth.users", events.Of(events.TopicUserChanged, events.TopicUserDeleted), 4096)
		defer sub.Close()
		// Copies made before the subscription may have missed a change.
		c.forgetAll()
		c.active.Store(true)
		defer c.active.Store(false)
		var dropped uint64
		for {
			select {
			case <-ctx.Done():
				return nil
			case e := <-sub.C():
				if d := sub.Dropped(); d != dropped {
					dropped = d
					log.Warn("user events lost; dropping cached users")
					c.forgetAll()
				}
				if id, ok := rowID(e); ok {
					c.invalidate(id)
				}
			}
		}
	})
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

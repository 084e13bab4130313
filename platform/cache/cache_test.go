package cache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// newCache builds a started cache over the test configuration (the shared
// memcached, a prefix of the test's own) with env overriding it.
func newCache(t *testing.T, env ...string) (*cache.Cache, *prometheus.Registry) {
	t.Helper()
	return newCacheLog(t, zap.NewNop(), env...)
}

func newCacheLog(t *testing.T, log *zap.Logger, env ...string) (*cache.Cache, *prometheus.Registry) {
	t.Helper()
	e := testkit.TestEnv(t)
	for i := 0; i+1 < len(env); i += 2 {
		e[env[i]] = env[i+1]
	}
	cfg, err := config.Parse(e)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	c := cache.New(cfg, log, reg)
	c.Start()
	t.Cleanup(c.Close)
	return c, reg
}

// metric reads selfdb_cache_requests_total{result} (or, with result "",
// the selfdb_cache_up gauge) from the cache's registry.
func metric(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		switch {
		case result == "" && mf.GetName() == "selfdb_cache_up":
			return mf.GetMetric()[0].GetGauge().GetValue()
		case result != "" && mf.GetName() == "selfdb_cache_requests_total":
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "result" && l.GetValue() == result {
						return m.GetCounter().GetValue()
					}
				}
			}
		}
	}
	return 0
}

// eventually polls cond every 20ms until it holds or within has passed, and
// returns how long it took.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

type row struct {
	ID    int      `json:"id"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

func TestJSONGetSetInvalidate(t *testing.T) {
	c, reg := newCache(t)
	if !c.Enabled() || !c.Up() {
		t.Fatal("cache over the shared memcached is not up")
	}
	if metric(t, reg, "") != 1 {
		t.Error("selfdb_cache_up is not 1 while memcached answers")
	}
	key := c.Key("rows", "1")
	want := row{ID: 1, Name: "ada", Roles: []string{"admin", "dev"}}

	var got row
	if c.Get(key, &got) {
		t.Fatal("cold key hit")
	}
	c.Set(key, want, 0)
	if !c.Get(key, &got) {
		t.Fatal("miss after Set")
	}
	if got.ID != want.ID || got.Name != want.Name || strings.Join(got.Roles, ",") != "admin,dev" {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	var wrong []int
	if c.Get(key, &wrong) {
		t.Error("a value that doesn't decode into dst is a hit")
	}
	c.Invalidate(key)
	if c.Get(key, &got) {
		t.Fatal("hit after Invalidate")
	}
	// A plain Set (a writer's fresh value) replaces the tombstone.
	c.Set(key, want, 0)
	if !c.Get(key, &got) {
		t.Fatal("Set after Invalidate not stored")
	}
	if hits, misses := metric(t, reg, "hit"), metric(t, reg, "miss"); hits != 2 || misses != 3 {
		t.Errorf("hits %v misses %v, want 2 and 3", hits, misses)
	}
	if errs := metric(t, reg, "error"); errs != 0 {
		t.Errorf("errors %v with memcached up", errs)
	}

	// The prefix separates caches: another prefix doesn't see this key.
	other, _ := newCache(t)
	if other.Key("rows", "1") == key {
		t.Fatal("two prefixes give the same key")
	}
	if other.Get(other.Key("rows", "1"), &got) {
		t.Error("a key is visible under another prefix")
	}
}

// A load that read the row before a writer's Invalidate must not put the old
// row back afterwards: the loader stores with Add, which fails on the
// tombstone.
func TestTombstoneBlocksStaleFill(t *testing.T) {
	c, _ := newCache(t)
	ctx := context.Background()

	// Control: without an invalidation the loaded value is cached.
	ctrl := c.Key("rows", "ctrl")
	if _, err := cache.GetOrLoad(ctx, c, ctrl, 0, func(context.Context) (string, error) { return "v", nil }); err != nil {
		t.Fatal(err)
	}
	var s string
	if !c.Get(ctrl, &s) || s != "v" {
		t.Fatalf("loaded value not cached: %q", s)
	}

	key := c.Key("rows", "2")
	entered, release := make(chan struct{}), make(chan struct{})
	done := make(chan string)
	go func() {
		v, err := cache.GetOrLoad(ctx, c, key, 0, func(context.Context) (string, error) {
			close(entered)
			<-release
			return "old", nil
		})
		if err != nil {
			v = "error: " + err.Error()
		}
		done <- v
	}()
	<-entered
	c.Invalidate(key) // the writer commits while the load is in flight
	close(release)
	if v := <-done; v != "old" {
		t.Fatalf("GetOrLoad returned %q", v)
	}
	if c.Get(key, &s) {
		t.Fatalf("the stale load was cached over the tombstone: %q", s)
	}
}

func TestGetOrLoadSingleflight(t *testing.T) {
	// A generous timeout: 100 concurrent first Gets under -race must not
	// trip the breaker, which would make the test about something else.
	c, reg := newCache(t, "MEMCACHED_TIMEOUT", "2s")
	key := c.Key("rows", "hot")
	var loads atomic.Int32
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			v, err := cache.GetOrLoad(context.Background(), c, key, 0, func(context.Context) (row, error) {
				loads.Add(1)
				time.Sleep(50 * time.Millisecond) // a slow query, so callers pile up
				return row{ID: 7, Name: "hot"}, nil
			})
			if err == nil && (v.ID != 7 || v.Name != "hot") {
				err = fmt.Errorf("got %+v", v)
			}
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("loader ran %d times for 100 concurrent callers, want 1", n)
	}
	// Later callers are served by memcached.
	before := metric(t, reg, "hit")
	if _, err := cache.GetOrLoad(context.Background(), c, key, 0, func(context.Context) (row, error) {
		loads.Add(1)
		return row{}, nil
	}); err != nil || loads.Load() != 1 {
		t.Fatalf("warm key reloaded (err %v, loads %d)", err, loads.Load())
	}
	if metric(t, reg, "hit") != before+1 {
		t.Error("hit counter did not move")
	}
}

func TestGetOrLoadErrorsAreNotCached(t *testing.T) {
	c, _ := newCache(t)
	key := c.Key("rows", "err")
	boom := errors.New("boom")
	var loads int
	load := func(context.Context) (*row, error) {
		loads++
		if loads == 1 {
			return nil, boom
		}
		return &row{ID: 3}, nil
	}
	if _, err := cache.GetOrLoad(context.Background(), c, key, 0, load); !errors.Is(err, boom) {
		t.Fatalf("loader error not returned: %v", err)
	}
	var r row
	if c.Get(key, &r) {
		t.Fatal("a failed load left a value")
	}
	v, err := cache.GetOrLoad(context.Background(), c, key, 0, load)
	if err != nil || v == nil || v.ID != 3 || loads != 2 {
		t.Fatalf("second load: %v %v (loads %d)", v, err, loads)
	}

	// A caller that gives up gets its context's error; the load finishes for
	// the others and is cached.
	slow := c.Key("rows", "slow")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	release := make(chan struct{})
	_, err = cache.GetOrLoad(ctx, c, slow, 0, func(context.Context) (int, error) { <-release; return 5, nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("abandoned caller: %v", err)
	}
	close(release)
	var n int
	eventually(t, 2*time.Second, "abandoned load cached", func() bool { return c.Get(slow, &n) && n == 5 })
}

func TestIncr(t *testing.T) {
	c, _ := newCache(t)
	key := c.Key("rl", "login", "1.2.3.4")
	if n, err := c.Incr(key, 1, time.Second); err != nil || n != 1 {
		t.Fatalf("create: %d %v", n, err)
	}
	if n, err := c.Incr(key, 2, time.Second); err != nil || n != 3 {
		t.Fatalf("increment: %d %v", n, err)
	}
	// The counter expires with the TTL it was created with (memcached's
	// clock ticks in seconds: 1–2 s).
	took := eventually(t, 5*time.Second, "counter expires", func() bool {
		n, err := c.Incr(key, 0, time.Second)
		return err == nil && n == 0
	})
	t.Logf("a 1 s counter expired after %s", took.Round(10*time.Millisecond))

	// Concurrent first increments race on Add; none is lost.
	hot := c.Key("rl", "hot")
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Incr(hot, 1, time.Minute); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n, err := c.Incr(hot, 0, time.Minute); err != nil || n != 50 {
		t.Fatalf("50 concurrent increments gave %d (%v)", n, err)
	}
	if err := c.Decr(hot, 48); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Incr(hot, 0, time.Minute); err != nil || n != 2 {
		t.Fatalf("Decr by 48 left %d (%v), want 2", n, err)
	}
	if err := c.Decr(hot, 5); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Incr(hot, 0, time.Minute); n != 0 {
		t.Fatalf("Decr below zero left %d", n)
	}
	c.Delete(hot)
	if n, _ := c.Incr(hot, 0, time.Minute); n != 0 {
		t.Fatalf("Delete left %d", n)
	}
	c.Delete(hot)
	if err := c.Decr(hot, 1); err != nil {
		t.Fatalf("Decr of a missing counter: %v", err)
	}
}

func TestLongAndSpacedKeys(t *testing.T) {
	c, _ := newCache(t)
	long := c.Key("tables", strings.Repeat("a", 300))
	spaced := c.Key("tables", "my table")
	ctrl := c.Key("tables", "my\ttable")
	for _, k := range []string{long, spaced, ctrl} {
		if len(k) > 250 || strings.ContainsAny(k, " \t\n") {
			t.Fatalf("unsafe key %q", k)
		}
	}
	if long == c.Key("tables", strings.Repeat("a", 299)+"b") || spaced == ctrl {
		t.Fatal("hashed keys collide")
	}
	for i, k := range []string{long, spaced, ctrl} {
		c.Set(k, i, 0)
	}
	for i, k := range []string{long, spaced, ctrl} {
		var got int
		if !c.Get(k, &got) || got != i {
			t.Fatalf("key %d: hit=%v got %d", i, got == i, got)
		}
	}
	c.Invalidate(long)
	var got int
	if c.Get(long, &got) {
		t.Fatal("hashed key not invalidated")
	}

	// The hash covers the prefix: another prefix (a new key version,
	// another instance's test) doesn't read this one's value.
	other, _ := newCache(t)
	k2 := other.Key("tables", "my table")
	if k2 == spaced {
		t.Fatal("hashed keys ignore the prefix")
	}
	if other.Get(k2, &got) {
		t.Fatal("a hashed key is visible under another prefix")
	}
}

// With memcached unreachable from the start, the breaker is open: reads
// miss at once, writes fail without hanging, loads go to the source.
func TestUnreachableFromStart(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	c, reg := newCache(t, "MEMCACHED_ADDR", addr)
	if !c.Enabled() || c.Up() || c.Ping() {
		t.Fatal("cache reports up with memcached unreachable")
	}
	if metric(t, reg, "") != 0 {
		t.Error("selfdb_cache_up is not 0")
	}
	key := c.Key("rows", "1")
	start := time.Now()
	for range 100 {
		var r row
		if c.Get(key, &r) {
			t.Fatal("hit without memcached")
		}
	}
	took := time.Since(start)
	t.Logf("100 Gets with memcached unreachable: %s", took)
	if took > time.Second {
		t.Fatalf("100 Gets took %s, want < 1s (breaker open)", took)
	}
	if misses := metric(t, reg, "miss"); misses != 100 {
		t.Errorf("misses %v, want 100", misses)
	}
	if metric(t, reg, "error") < 1 {
		t.Error("error counter did not move")
	}
	c.Set(key, row{ID: 1}, 0)
	c.Invalidate(key)
	c.Delete(key)
	if _, err := c.Incr(key, 1, time.Second); err == nil {
		t.Error("Incr succeeded without memcached")
	}
	if err := c.Decr(key, 1); err == nil {
		t.Error("Decr succeeded without memcached")
	}
	v, err := cache.GetOrLoad(context.Background(), c, key, 0, func(context.Context) (int, error) { return 9, nil })
	if err != nil || v != 9 {
		t.Fatalf("GetOrLoad without memcached: %d %v", v, err)
	}
}

// A cache with no address configured is disabled: everything misses and
// nothing fails.
func TestDisabled(t *testing.T) {
	c := cache.New(&config.Config{CacheTTL: 60, CachePrefix: "t:"}, zap.NewNop(), prometheus.NewRegistry())
	c.Start()
	defer c.Close()
	if c.Enabled() || c.Up() || c.Ping() {
		t.Fatal("disabled cache reports enabled or up")
	}
	key := c.Key("rows", "1")
	c.Set(key, 1, 0)
	var n int
	if c.Get(key, &n) {
		t.Fatal("disabled cache hit")
	}
	c.Invalidate(key)
	if _, err := c.Incr(key, 1, time.Second); err == nil {
		t.Error("Incr succeeded on a disabled cache")
	}
	v, err := cache.GetOrLoad(context.Background(), c, key, 0, func(context.Context) (int, error) { return 4, nil })
	if err != nil || v != 4 {
		t.Fatalf("GetOrLoad on a disabled cache: %d %v", v, err)
	}
}

// A private memcached stopped while in use: the breaker opens and reads
// miss; started again, the cache is used again without a restart.
func TestMemcachedStoppedAndRestarted(t *testing.T) {
	mc := testkit.StartMemcached(t)
	core, logs := observer.New(zap.InfoLevel)
	c, reg := newCacheLog(t, zap.New(core), "MEMCACHED_ADDR", mc.Addr)
	key := c.Key("rows", "1")
	c.Set(key, row{ID: 1}, 0)
	var r row
	if !c.Get(key, &r) {
		t.Fatal("miss with memcached up")
	}

	mc.Stop()
	took := eventually(t, 2*time.Second, "breaker opens", func() bool {
		if c.Get(key, &r) {
			t.Fatal("hit with memcached stopped")
		}
		return !c.Up()
	})
	t.Logf("breaker opened %s after memcached stopped", took.Round(time.Millisecond))
	if metric(t, reg, "") != 0 {
		t.Error("selfdb_cache_up is not 0 while memcached is stopped")
	}
	start := time.Now()
	for range 100 {
		if c.Get(key, &r) {
			t.Fatal("hit with memcached stopped")
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("100 Gets with the breaker open took %s", d)
	}
	if _, err := c.Incr(key, 1, time.Second); err == nil {
		t.Error("Incr succeeded with memcached stopped")
	}

	mc.Start()
	// Nothing but traffic probes: poll with reads, as requests would.
	took = eventually(t, 20*time.Second, "cache up again", func() bool {
		c.Get(c.Key("rows", "probe"), &r)
		return c.Up()
	})
	t.Logf("cache back in use %s after memcached restarted", took.Round(time.Millisecond))
	if metric(t, reg, "") != 1 {
		t.Error("selfdb_cache_up is not 1 after recovery")
	}
	c.Set(key, row{ID: 2}, 0)
	if !c.Get(key, &r) || r.ID != 2 {
		t.Fatalf("cache not in use after recovery: %+v", r)
	}
	// Logged once per state change, however many calls failed in between.
	down := logs.FilterMessageSnippet("unreachable").Len()
	up := logs.FilterMessageSnippet("reachable again").Len()
	if down != 1 || up != 1 {
		t.Errorf("logged %d 'unreachable' and %d 'reachable again' lines, want 1 each: %v", down, up, logs.All())
	}
}

// Invalidations made while memcached is unreachable are replayed when it
// returns: a key set before the outage and invalidated during it is never
// served afterwards. memcached keeps its data here (the outage is a cut
// proxy), so the stale value really is still there when the link returns.
func TestInvalidationsReplayedAfterOutage(t *testing.T) {
	p := testkit.StartProxy(t, testkit.MemcachedAddr())
	c, _ := newCache(t, "MEMCACHED_ADDR", p.Addr)
	stale, kept := c.Key("rows", "stale"), c.Key("rows", "kept")
	c.Set(stale, row{ID: 1, Name: "old"}, 0)
	c.Set(kept, row{ID: 2}, 0)
	var r row
	if !c.Get(stale, &r) || !c.Get(kept, &r) {
		t.Fatal("miss with memcached up")
	}

	p.Cut()
	eventually(t, 2*time.Second, "breaker opens", func() bool {
		c.Get(kept, &r)
		return !c.Up()
	})
	c.Invalidate(stale) // a writer commits during the outage

	// Straight to memcached: the old value is still there.
	raw := memcache.New(testkit.MemcachedAddr())
	if it, err := raw.Get(stale); err != nil || !strings.Contains(string(it.Value), "old") {
		t.Fatalf("precondition: stale value not in memcached (%v)", err)
	}

	p.Restore()
	// Poll with the invalidated key itself: the first read after recovery
	// (the breaker's probe) must not serve it either.
	took := eventually(t, 20*time.Second, "cache up again", func() bool {
		if c.Get(stale, &r) {
			t.Fatalf("invalidated key served after recovery: %+v", r)
		}
		return c.Up()
	})
	t.Logf("recovered %s after the link returned", took.Round(time.Millisecond))
	eventually(t, 2*time.Second, "tombstone replayed", func() bool {
		it, err := raw.Get(stale)
		return err == nil && len(it.Value) == 1 && it.Value[0] == 0
	})
	if c.Get(stale, &r) {
		t.Fatal("invalidated key served after replay")
	}
	if !c.Get(kept, &r) || r.ID != 2 {
		t.Fatal("a key not invalidated was lost (memcached should have kept it)")
	}
}

// memcached hanging (connections open, no answers): each call waits at most
// MEMCACHED_TIMEOUT until the breaker opens, then reads miss at once.
func TestMemcachedHangs(t *testing.T) {
	p := testkit.StartProxy(t, testkit.MemcachedAddr())
	c, _ := newCache(t, "MEMCACHED_ADDR", p.Addr, "MEMCACHED_TIMEOUT", "100ms")
	key := c.Key("rows", "1")
	c.Set(key, row{ID: 1}, 0)
	var r row
	if !c.Get(key, &r) {
		t.Fatal("miss with memcached up")
	}

	p.Hang()
	start := time.Now()
	for range 100 {
		if c.Get(key, &r) {
			t.Fatal("hit with memcached hanging")
		}
	}
	took := time.Since(start)
	t.Logf("100 Gets with memcached hanging: %s", took.Round(time.Millisecond))
	if took > time.Second {
		t.Fatalf("100 Gets took %s with memcached hanging, want < 1s", took)
	}
	if c.Up() {
		t.Fatal("breaker closed with memcached hanging")
	}
	start = time.Now()
	c.Set(key, row{ID: 2}, 0)
	c.Invalidate(key)
	if _, err := c.Incr(key, 1, time.Second); err == nil {
		t.Error("Incr succeeded with memcached hanging")
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("writes with memcached hanging took %s", d)
	}

	p.Heal()
	took = eventually(t, 20*time.Second, "cache up again", func() bool {
		if c.Get(key, &r) {
			t.Fatalf("key invalidated during the hang served: %+v", r)
		}
		return c.Up()
	})
	t.Logf("recovered %s after the hang ended", took.Round(time.Millisecond))
}

// An invalidation lost to a blip too short to open the breaker is written as
// soon as memcached answers again, not at some later outage's recovery:
// until then other instances, which share memcached, would serve the old
// value.
func TestInvalidationLostToABlipIsRetried(t *testing.T) {
	p := testkit.StartProxy(t, testkit.MemcachedAddr())
	c, _ := newCache(t, "MEMCACHED_ADDR", p.Addr)
	// Another instance: same prefix, straight to memcached.
	other, _ := newCache(t, "CACHE_PREFIX", c.Key("")) // Key() with no parts is the prefix
	key := c.Key("rows", "blip")
	c.Set(key, row{ID: 1, Name: "old"}, 0)
	var r row
	if !other.Get(key, &r) || r.Name != "old" {
		t.Fatal("precondition: the other instance doesn't see the value")
	}

	p.Cut()
	c.Invalidate(key) // one failure: the breaker stays closed
	if !c.Up() {
		t.Fatal("one failure opened the breaker; the test needs a blip")
	}
	p.Restore()
	if c.Get(key, &r) {
		t.Fatal("this instance serves a key whose invalidation failed")
	}
	took := eventually(t, 2*time.Second, "tombstone written", func() bool {
		return !other.Get(key, &r)
	})
	if !c.Up() {
		t.Fatal("the breaker opened; the retry came from recovery, not the blip path")
	}
	t.Logf("lost invalidation written %s after memcached answered again", took.Round(time.Millisecond))
}

// MEMCACHED_ADDR may name several servers: keys spread over them, and one
// of them stopping never fails a load.
func TestSeveralServers(t *testing.T) {
	a, b := testkit.StartMemcached(t), testkit.StartMemcached(t)
	c, _ := newCache(t, "MEMCACHED_ADDR", a.Addr+","+b.Addr)
	if !c.Up() {
		t.Fatal("not up with both servers up")
	}
	const n = 40
	key := func(i int) string { return c.Key("rows", fmt.Sprint(i)) }
	for i := range n {
		c.Set(key(i), i, 0)
	}
	var got int
	for i := range n {
		if !c.Get(key(i), &got) || got != i {
			t.Fatalf("key %d: got %d", i, got)
		}
	}
	onA, onB := 0, 0
	for _, s := range []struct {
		addr  string
		count *int
	}{{a.Addr, &onA}, {b.Addr, &onB}} {
		raw := memcache.New(s.addr)
		for i := range n {
			if _, err := raw.Get(key(i)); err == nil {
				*s.count++
			}
		}
		raw.Close()
	}
	if onA == 0 || onB == 0 || onA+onB != n {
		t.Fatalf("keys not spread over both servers: %d on a, %d on b", onA, onB)
	}

	b.Stop()
	start := time.Now()
	for i := range n {
		v, err := cache.GetOrLoad(context.Background(), c, key(i), 0, func(context.Context) (int, error) { return i, nil })
		if err != nil || v != i {
			t.Fatalf("key %d with one server stopped: %d %v", i, v, err)
		}
	}
	t.Logf("%d loads with one of two servers stopped: %s", n, time.Since(start).Round(time.Millisecond))
}

// Many concurrent look-ups against the real memcached (batched under the
// hood) each get their own key's value, or a miss for absent keys.
func TestConcurrentLookupsGetTheirOwnValues(t *testing.T) {
	c, reg := newCache(t)
	const n = 100
	for i := range n {
		c.Set(c.Key("k", fmt.Sprint(i)), i, time.Minute)
	}
	var wg sync.WaitGroup
	var wrong atomic.Int64
	for g := range 64 {
		wg.Go(func() {
			for j := range 200 {
				i := (g*31 + j*7) % (n + 10) // keys n..n+9 are absent
				var v int
				hit := c.Get(c.Key("k", fmt.Sprint(i)), &v)
				if hit != (i < n) || (hit && v != i) {
					wrong.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if w := wrong.Load(); w > 0 {
		t.Fatalf("%d look-ups got another key's value or the wrong hit/miss", w)
	}
	if e := metric(t, reg, "error"); e != 0 {
		t.Errorf("%v errors", e)
	}
}

// After an invalidation the next load is cached at once (it replaces the
// tombstone it saw), but a load that saw an older tombstone is not cached
// over a newer invalidation.
func TestFillAfterInvalidation(t *testing.T) {
	c, _ := newCache(t)
	ctx := context.Background()
	key := c.Key("rows", "3")
	loads := 0
	load := func(v string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { loads++; return v, nil }
	}
	c.Set(key, "v1", 0)
	c.Invalidate(key)
	for range 3 {
		if v, err := cache.GetOrLoad(ctx, c, key, 0, load("v2")); err != nil || v != "v2" {
			t.Fatalf("GetOrLoad = %q, %v", v, err)
		}
	}
	if loads != 1 {
		t.Fatalf("%d loads after one invalidation, want 1 (the first fill replaces the tombstone)", loads)
	}

	// A load in flight over tombstone #1 while invalidation #2 happens.
	c.Invalidate(key)
	entered, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := cache.GetOrLoad(ctx, c, key, 0, func(context.Context) (string, error) {
			close(entered)
			<-release
			return "stale", nil
		})
		done <- err
	}()
	<-entered
	c.Invalidate(key)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var s string
	if c.Get(key, &s) {
		t.Fatalf("a load that began before the last invalidation was cached: %q", s)
	}
	if v, _ := cache.GetOrLoad(ctx, c, key, 0, load("v3")); v != "v3" {
		t.Fatalf("after the second invalidation: %q", v)
	}
	if !c.Get(key, &s) || s != "v3" {
		t.Fatalf("fresh load not cached: %q", s)
	}
}

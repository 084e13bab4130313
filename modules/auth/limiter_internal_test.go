package auth

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/config"
)

// Without memcached the limiter counts in process, per fixed window.
func TestLimiterInProcessWindows(t *testing.T) {
	c := cache.New(&config.Config{CachePrefix: "t:", CacheTTL: 60, MemcachedTimeout: time.Second}, zap.NewNop(), prometheus.NewRegistry())
	l := NewLimiter(c, time.Minute)
	now := time.Date(2026, 1, 1, 10, 0, 10, 0, time.UTC)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := l.Hit("s", "a", 3); !ok {
			t.Fatalf("hit %d refused under the limit", i+1)
		}
	}
	ok, retry := l.Hit("s", "a", 3)
	if ok || retry != 50*time.Second {
		t.Fatalf("4th hit: ok=%v retry=%v; want refused, 50s", ok, retry)
	}
	if ok, _ := l.Hit("s", "b", 3); !ok {
		t.Fatal("another subject is limited")
	}
	if ok, _ := l.Hit("other", "a", 3); !ok {
		t.Fatal("another scope is limited")
	}
	if _, ok, _ := l.Reserve("s", "b", 1); ok {
		t.Fatal("Reserve: a second event with limit 1 is within it")
	}
	r, ok, _ := l.Reserve("s", "c", 1)
	if !ok {
		t.Fatal("Reserve: an unseen subject is over")
	}
	r.Release()
	old, ok, _ := l.Reserve("s", "c", 1)
	if !ok {
		t.Fatal("Reserve: a released event still counts")
	}
	now = now.Add(50 * time.Second)
	if ok, _ := l.Hit("s", "a", 3); !ok {
		t.Fatal("the next window still counts the previous one")
	}
	if _, ok, _ := l.Reserve("s", "c", 1); !ok {
		t.Fatal("Reserve: the next window counts the previous one")
	}
	old.Release() // made in the previous window: must not credit this one
	if _, ok, _ := l.Reserve("s", "c", 1); ok {
		t.Fatal("releasing an event of the previous window credited this one")
	}
	if got := retryAfter(1500 * time.Millisecond); got != "2" {
		t.Fatalf("retryAfter rounds %q, want up to 2", got)
	}
	if got := retryAfter(0); got != "1" {
		t.Fatalf("retryAfter(0) = %q, want 1", got)
	}
}

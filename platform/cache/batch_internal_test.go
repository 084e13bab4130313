package cache

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// While every slot is busy, look-ups queue and then leave together as one
// multi-key get (duplicates sent once); each gets its own result: its item,
// a miss, or the round trip's error for keys it did not return.
func TestBatcherMergesQueuedLookups(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var multis [][]string
	broken := errors.New("server 2 down")
	b := &batcher{
		one: func(key string) (*memcache.Item, error) {
			<-release
			return &memcache.Item{Key: key, Value: []byte("v:" + key)}, nil
		},
		many: func(keys []string) (map[string]*memcache.Item, error) {
			mu.Lock()
			multis = append(multis, append([]string(nil), keys...))
			mu.Unlock()
			m := map[string]*memcache.Item{}
			for _, k := range keys {
				switch k {
				case "absent":
				case "on-broken-server":
				default:
					m[k] = &memcache.Item{Key: k, Value: []byte("v:" + k)}
				}
			}
			return m, broken
		},
	}
	type result struct {
		key  string
		item *memcache.Item
		err  error
	}
	results := make(chan result, 32)
	get := func(k string) {
		it, err := b.get(k)
		results <- result{k, it, err}
	}
	for _, k := range []string{"s1", "s2", "s3", "s4"} {
		go get(k)
	}
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.busy == maxBatchesInFlight })
	queued := []string{"a", "b", "a", "absent", "on-broken-server", "c"}
	for _, k := range queued {
		go get(k)
	}
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.queue) == len(queued) })
	close(release)
	for range 4 + len(queued) {
		r := <-results
		switch r.key {
		case "absent":
			if !errors.Is(r.err, broken) {
				t.Errorf("%s: err %v, want the round trip's error", r.key, r.err)
			}
		case "on-broken-server":
			if !errors.Is(r.err, broken) {
				t.Errorf("%s: err %v, want the round trip's error", r.key, r.err)
			}
		default:
			if r.err != nil || r.item == nil || string(r.item.Value) != "v:"+r.key {
				t.Errorf("%s: got %v, %v", r.key, r.item, r.err)
			}
		}
	}
	if len(multis) != 1 || len(multis[0]) != 5 {
		t.Fatalf("multi-gets %v, want one with the 5 distinct queued keys", multis)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.busy != 0 || len(b.queue) != 0 {
		t.Errorf("after the burst: busy %d, queued %d", b.busy, len(b.queue))
	}
}

// A multi-get that answers without error reports absent keys as misses.
func TestBatcherMissWithoutError(t *testing.T) {
	b := &batcher{many: func([]string) (map[string]*memcache.Item, error) { return map[string]*memcache.Item{}, nil }}
	calls := []*getCall{{key: "x", wake: make(chan []*getCall, 1)}, {key: "y", wake: make(chan []*getCall, 1)}}
	b.send(calls)
	for _, c := range calls {
		if !errors.Is(c.err, memcache.ErrCacheMiss) {
			t.Errorf("%s: %v, want a miss", c.key, c.err)
		}
	}
	if got := <-calls[1].wake; got != nil {
		t.Errorf("follower woken with a batch to lead")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

package cache

import (
	"sync"

	"github.com/bradfitz/gomemcache/memcache"
)

// maxBatchesInFlight bounds the memcached look-ups a process has on the wire
// at once. Look-ups that arrive while all are busy wait and leave together as
// one multi-key get.
const maxBatchesInFlight = 4

// batcher merges concurrent single-key gets into multi-key gets ("smart
// batching"): a look-up that finds a free slot goes out at once, alone, so an
// idle server pays no delay; under load the look-ups queued behind a busy
// slot share one round trip, which saves a write and a read system call per
// key — the dominant cost of a cached request on loopback.
type batcher struct {
	one  func(key string) (*memcache.Item, error)
	many func(keys []string) (map[string]*memcache.Item, error)

	mu    sync.Mutex
	busy  int
	queue []*getCall
}

// getCall is one waiting look-up. wake receives nil when item/err are set, or
// the batch the receiver must now send (itself included).
type getCall struct {
	key  string
	item *memcache.Item
	err  error
	wake chan []*getCall
}

var callPool = sync.Pool{New: func() any { return &getCall{wake: make(chan []*getCall, 1)} }}

// get returns key's item, memcache.ErrCacheMiss, or the error of the round
// trip it took part in.
func (b *batcher) get(key string) (*memcache.Item, error) {
	b.mu.Lock()
	if b.busy < maxBatchesInFlight && len(b.queue) == 0 {
		b.busy++
		b.mu.Unlock()
		item, err := b.one(key)
		b.handOff()
		return item, err
	}
	call := callPool.Get().(*getCall)
	call.key = key
	b.queue = append(b.queue, call)
	b.mu.Unlock()
	if batch := <-call.wake; batch != nil {
		// Our turn to lead: send everything that queued up, us included.
		b.send(batch)
		b.handOff()
	}
	item, err := call.item, call.err
	*call = getCall{wake: call.wake}
	callPool.Put(call)
	return item, err
}

// handOff passes the caller's slot to the queued look-ups, if any: the first
// of them sends them all. Otherwise the slot is freed.
func (b *batcher) handOff() {
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.busy--
		b.mu.Unlock()
		return
	}
	batch := b.queue
	b.queue = nil
	b.mu.Unlock()
	batch[0].wake <- batch
}

// send runs one round trip for batch and wakes every call in it but the
// first (the leader, which is running send).
func (b *batcher) send(batch []*getCall) {
	if len(batch) == 1 {
		batch[0].item, batch[0].err = b.one(batch[0].key)
		return
	}
	keys := make([]string, 0, len(batch))
	seen := make(map[string]struct{}, len(batch))
	for _, c := range batch {
		if _, dup := seen[c.key]; !dup {
			seen[c.key] = struct{}{}
			keys = append(keys, c.key)
		}
	}
	items, err := b.many(keys)
	for i, c := range batch {
		if it, ok := items[c.key]; ok {
			c.item = it
		} else if err != nil {
			c.err = err
		} else {
			c.err = memcache.ErrCacheMiss
		}
		if i > 0 {
			c.wake <- nil
		}
	}
}

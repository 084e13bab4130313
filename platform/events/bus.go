package events

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Bus hands the events the Reader reads to in-process subscribers.
type Bus struct {
	mu       sync.Mutex
	subs     map[*Subscription]struct{}
	handlers atomic.Pointer[[]handler]
	position int64         // the id of the last event dispatched
	moved    chan struct{} // closed (and replaced) when position moves
	live     atomic.Bool

	dispatched prometheus.Counter
	dropped    *prometheus.CounterVec
	lag        prometheus.Histogram
}

// NewBus builds a bus and registers its metrics.
func NewBus(reg prometheus.Registerer) *Bus {
	b := &Bus{
		subs:  map[*Subscription]struct{}{},
		moved: make(chan struct{}),
		dispatched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "selfdb_events_read_total", Help: "Change-log rows read and dispatched by this process.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "selfdb_events_dropped_total", Help: "Events a subscriber lost because its queue was full.",
		}, []string{"subscriber"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "selfdb_events_read_lag_seconds",
			Help:    "Time from a change being written to this process dispatching it.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	reg.MustRegister(b.dispatched, b.dropped, b.lag)
	return b
}

// handler is a synchronous subscriber (Handle).
type handler struct {
	filter func(*Event) bool
	fn     func(*Event)
}

// Handle registers fn to run for every event filter takes (nil: all), on
// the reader's goroutine, before the bus position moves past the event: so
// once WaitFor(id) returns (or Sync), every handler has seen every event up
// to id. For cache invalidation: fn must be quick and must not block (no
// network), and it is never dropped. Register handlers before the app
// starts.
func (b *Bus) Handle(filter func(*Event) bool, fn func(*Event)) {
	for {
		old := b.handlers.Load()
		var hs []handler
		if old != nil {
			hs = append(hs, *old...)
		}
		hs = append(hs, handler{filter: filter, fn: fn})
		if b.handlers.CompareAndSwap(old, &hs) {
			return
		}
	}
}

// Subscription receives the events its filter takes, in id order.
type Subscription struct {
	bus     *Bus
	name    string
	filter  func(*Event) bool
	ch      chan *Event
	dropped atomic.Uint64
	closed  atomic.Bool
}

// Subscribe registers a subscription with a queue of size events. filter
// (nil: everything) runs on the reader's goroutine: keep it cheap. It also
// returns the bus position: the subscription gets exactly the events after
// that id, so a caller that replays the log up to it (Since) misses nothing
// and doubles nothing.
func (b *Bus) Subscribe(name string, filter func(*Event) bool, size int) (*Subscription, int64) {
	if size < 1 {
		size = 1
	}
	s := &Subscription{bus: b, name: name, filter: filter, ch: make(chan *Event, size)}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[s] = struct{}{}
	return s, b.position
}

// C delivers the events. It is never closed.
func (s *Subscription) C() <-chan *Event { return s.ch }

// Dropped counts the events this subscription lost to a full queue. A
// subscriber that keeps state derived from events (a cache) must start over
// when it grows.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription; events already queued stay readable.
func (s *Subscription) Close() {
	if s.closed.Swap(true) {
		return
	}
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()
}

// Position is the id of the last event dispatched.
func (b *Bus) Position() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.position
}

// Live reports whether the reader is connected and caught up: while it is
// not, changes may be happening that nobody in this process hears of yet,
// so caches kept on the strength of events must not be trusted.
func (b *Bus) Live() bool { return b.live.Load() }

func (b *Bus) setLive(v bool) { b.live.Store(v) }

// dispatch runs the handlers, then hands e to every subscription that
// takes it, never waiting.
func (b *Bus) dispatch(e *Event) {
	if hs := b.handlers.Load(); hs != nil {
		for _, h := range *hs {
			if h.filter == nil || h.filter(e) {
				h.fn(e)
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.move(e.ID)
	for s := range b.subs {
		if s.filter != nil && !s.filter(e) {
			continue
		}
		select {
		case s.ch <- e:
		default:
			s.dropped.Add(1)
			b.dropped.WithLabelValues(s.name).Inc()
		}
	}
}

// advance moves the position past ids that turned out never to exist.
func (b *Bus) advance(id int64) {
	b.mu.Lock()
	b.move(id)
	b.mu.Unlock()
}

// move sets the position (under b.mu) and wakes WaitFor.
func (b *Bus) move(id int64) {
	if id <= b.position {
		return
	}
	b.position = id
	close(b.moved)
	b.moved = make(chan struct{})
}

// WaitFor returns once the bus has dispatched every event up to id, or
// with ctx's error.
func (b *Bus) WaitFor(ctx context.Context, id int64) error {
	for {
		b.mu.Lock()
		pos, moved := b.position, b.moved
		b.mu.Unlock()
		if pos >= id {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

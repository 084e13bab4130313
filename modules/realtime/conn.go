package realtime

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/identity"
)

// Close codes (RFC 6455 §7.4.1) and why the server uses them.
const (
	// CloseGoingAway: the server is shutting down; reconnect elsewhere.
	CloseGoingAway = websocket.CloseGoingAway // 1001
	// ClosePolicy: authentication failed, the token expired, or the account
	// was deactivated or deleted.
	ClosePolicy = websocket.ClosePolicyViolation // 1008
	// CloseTooBig: a client frame over REALTIME_MAX_FRAME_BYTES.
	CloseTooBig = websocket.CloseMessageTooBig // 1009
	// CloseInternal: the server failed (database unreachable while
	// authenticating).
	CloseInternal = websocket.CloseInternalServerErr // 1011
	// CloseSlow: the client did not read fast enough (its send queue
	// filled); reconnect and resume with "since".
	CloseSlow = websocket.CloseTryAgainLater // 1013
)

// writeTimeout bounds one frame's write to a client.
const writeTimeout = 10 * time.Second

// out is one thing for the writer to send.
type out struct {
	data []byte
	// at is when the change was written (for the lag metric); zero for
	// replies.
	at    time.Time
	ping  bool
	close *closeMsg
}

type closeMsg struct {
	code   int
	reason string
}

// conn is one client connection. The reader goroutine (serve) owns the
// protocol; a writer goroutine runs only while there is something to send,
// so an idle connection costs one goroutine.
type conn struct {
	hub *Hub
	ws  *websocket.Conn
	net net.Conn
	p   atomic.Pointer[identity.Principal] // nil until authenticated

	// subs is guarded by hub.mu.
	subs map[string]*sub

	qmu      sync.Mutex
	queue    []out
	writing  bool
	closing  bool // a close was queued: nothing more is accepted
	ended    bool // the connection is gone
	writers  sync.WaitGroup
	lastPing time.Time
}

// principal is the connection's identity (nil before authentication).
func (c *conn) principal() *identity.Principal { return c.p.Load() }

// userID is the connection's user, zero for anon or before authentication.
func (c *conn) userID() uuid.UUID {
	if p := c.principal(); p.IsUser() {
		return p.ID
	}
	return uuid.Nil
}

// send queues a frame. A client whose queue is full is disconnected with
// CloseSlow, never waited for. It reports whether the frame was queued.
func (c *conn) send(o out) bool {
	c.qmu.Lock()
	if c.closing || c.ended {
		c.qmu.Unlock()
		return false
	}
	if len(c.queue) >= c.hub.cfg.SendQueue {
		dropped := len(c.queue)
		c.queue = c.queue[:0]
		c.qmu.Unlock()
		c.hub.metrics.slow.Inc()
		c.hub.metrics.dropped.Add(float64(dropped + 1))
		c.closeWith(CloseSlow, "client too slow: reconnect and resume with since")
		return false
	}
	c.queue = append(c.queue, o)
	c.startWriter()
	c.qmu.Unlock()
	return true
}

// queued is the number of frames waiting (for replay backpressure).
func (c *conn) queued() (n int, done bool) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return len(c.queue), c.closing || c.ended
}

// closeWith sends a close frame after what is queued and ends the
// connection; a client that does not take it within writeTimeout is cut.
func (c *conn) closeWith(code int, reason string) {
	c.qmu.Lock()
	if c.closing || c.ended {
		c.qmu.Unlock()
		return
	}
	c.closing = true
	c.queue = append(c.queue, out{close: &closeMsg{code: code, reason: reason}})
	c.startWriter()
	c.qmu.Unlock()
	time.AfterFunc(writeTimeout, c.cut)
}

// ping queues a server ping unless one went out within the interval.
func (c *conn) ping(now time.Time, every time.Duration) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.closing || c.ended || now.Sub(c.lastPing) < every {
		return
	}
	c.lastPing = now
	c.queue = append(c.queue, out{ping: true})
	c.startWriter()
}

// startWriter runs the writer unless it runs (c.qmu held).
func (c *conn) startWriter() {
	if c.writing {
		return
	}
	c.writing = true
	c.writers.Add(1)
	go c.write()
}

// write sends the queue until it is empty, then exits.
func (c *conn) write() {
	defer c.writers.Done()
	var batch []out
	for {
		c.qmu.Lock()
		if len(c.queue) == 0 || c.ended {
			c.writing = false
			c.queue = nil
			c.qmu.Unlock()
			return
		}
		batch, c.queue = c.queue, batch[:0]
		c.qmu.Unlock()
		for i := range batch {
			ok := c.writeOne(&batch[i])
			batch[i] = out{}
			if !ok {
				// Closed on purpose, or the client is gone: nothing more
				// will be written.
				clear(batch)
				c.qmu.Lock()
				c.writing, c.closing, c.queue = false, true, nil
				c.qmu.Unlock()
				c.cut()
				return
			}
		}
	}
}

func (c *conn) writeOne(o *out) bool {
	deadline := time.Now().Add(writeTimeout)
	switch {
	case o.close != nil:
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(o.close.code, o.close.reason), deadline)
		return false
	case o.ping:
		return c.ws.WriteControl(websocket.PingMessage, nil, deadline) == nil
	}
	_ = c.ws.SetWriteDeadline(deadline)
	if err := c.ws.WriteMessage(websocket.TextMessage, o.data); err != nil {
		return false
	}
	if !o.at.IsZero() {
		c.hub.metrics.delivered.Inc()
		c.hub.metrics.lag.Observe(time.Since(o.at).Seconds())
	}
	return true
}

// cut closes the socket: the reader's read fails and serve ends the
// connection. Safe to call at any time, more than once.
func (c *conn) cut() { _ = c.net.Close() }

// end marks the connection gone and waits for its writer: after it
// returns nothing touches ws (the library recycles it). A close frame
// already queued (and what precedes it) gets a moment to go out.
func (c *conn) end() {
	c.qmu.Lock()
	wasClosing := c.closing
	c.closing = true // from here on nothing starts a writer
	c.qmu.Unlock()
	if wasClosing {
		done := make(chan struct{})
		go func() { c.writers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Second):
		}
	}
	c.qmu.Lock()
	c.ended = true
	c.queue = nil
	c.qmu.Unlock()
	c.cut()
	c.writers.Wait()
}

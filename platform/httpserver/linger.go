package httpserver

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
)

// A server that answers before it has read the whole request (413 for a
// body, 431 for headers) and closes at once leaves the client's unsent or
// unread bytes behind: the kernel resets the connection, and a client still
// sending loses the answer to "connection reset by peer". Such connections
// get a lingering close instead, as in nginx and Apache: end our side (the
// client reads the answer, then end of stream), discard what the client
// still sends up to lingerBytes, then stop reading (its writes block instead
// of failing) until lingerTimeout has passed, and close.
const (
	lingerTimeout = 2 * time.Second
	lingerBytes   = 1 << 20
)

// lingerListener hands out connections that can linger when closed. Closing
// it cuts the lingering short and waits for it, so no connection outlives a
// stopped server.
type lingerListener struct {
	net.Listener
	stopping chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	stopped  bool
	active   map[*lingerConn]struct{}
	wg       sync.WaitGroup
}

func newLingerListener(ln net.Listener) *lingerListener {
	return &lingerListener{Listener: ln, stopping: make(chan struct{}), active: map[*lingerConn]struct{}{}}
}

// Accept wraps TCP connections.
func (l *lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		return &lingerConn{TCPConn: tc, l: l}, nil
	}
	return c, nil
}

// Close stops accepting, ends every lingering close now and waits for them.
func (l *lingerListener) Close() error {
	err := l.Listener.Close()
	l.stopOnce.Do(func() {
		l.mu.Lock()
		l.stopped = true
		close(l.stopping)
		for c := range l.active {
			_ = c.SetReadDeadline(time.Now())
		}
		l.mu.Unlock()
	})
	l.wg.Wait()
	return err
}

// begin registers a lingering close; false once the server is stopping.
func (l *lingerListener) begin(c *lingerConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return false
	}
	l.active[c] = struct{}{}
	l.wg.Add(1)
	return true
}

func (l *lingerListener) end(c *lingerConn) {
	l.mu.Lock()
	delete(l.active, c)
	l.mu.Unlock()
	l.wg.Done()
}

// lingerConn is a TCP connection whose Close lingers once asked to.
type lingerConn struct {
	*net.TCPConn
	l      *lingerListener
	linger atomic.Bool
}

// Close lingers when the connection was answered early, then closes.
func (c *lingerConn) Close() error {
	// The deadline is set before begin so that a stopping listener's
	// deadline (now) always comes after it.
	deadline := time.Now().Add(lingerTimeout)
	if c.linger.Load() && c.SetReadDeadline(deadline) == nil && c.l.begin(c) {
		if c.CloseWrite() == nil {
			if n, _ := io.CopyN(io.Discard, c.TCPConn, lingerBytes); n == lingerBytes {
				t := time.NewTimer(time.Until(deadline))
				select {
				case <-t.C:
				case <-c.l.stopping:
				}
				t.Stop()
			}
		}
		c.l.end(c)
	}
	return c.TCPConn.Close()
}

// lingerOnClose marks the request's connection for a lingering close. Only
// connections answered early linger: an ordinary close must not wait on an
// idle client.
func lingerOnClose(c *fiber.Ctx) {
	if lc, ok := c.Context().Conn().(*lingerConn); ok {
		lc.linger.Store(true)
	}
}

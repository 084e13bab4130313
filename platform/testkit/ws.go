package testkit

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// WS is a WebSocket client of a test app: frames are read in the background
// and handed out in order by Next.
type WS struct {
	t      testing.TB
	Conn   *websocket.Conn
	frames chan []byte
	closed chan struct{}
	// CloseCode and CloseReason are the server's close frame, once closed.
	CloseCode   int
	CloseReason string
}

// Dial opens a WebSocket to path (with its query) on the app's listener;
// it is closed when the test ends.
func (a *App) Dial(t testing.TB, path string) *WS {
	t.Helper()
	url := "ws://" + a.ln.Addr().String() + path
	conn, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("testkit: dial %s: %v (status %d)", path, err, status)
	}
	w := &WS{t: t, Conn: conn, frames: make(chan []byte, 4096), closed: make(chan struct{})}
	go w.read()
	t.Cleanup(func() { _ = conn.Close(); <-w.closed })
	return w
}

func (w *WS) read() {
	defer close(w.closed)
	defer close(w.frames)
	for {
		_, data, err := w.Conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				w.CloseCode, w.CloseReason = ce.Code, ce.Text
			}
			return
		}
		w.frames <- data
	}
}

// Send writes v as a JSON text frame ([]byte and string as they are).
func (w *WS) Send(v any) {
	w.t.Helper()
	var b []byte
	switch x := v.(type) {
	case []byte:
		b = x
	case string:
		b = []byte(x)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			w.t.Fatal(err)
		}
	}
	_ = w.Conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := w.Conn.WriteMessage(websocket.TextMessage, b); err != nil {
		w.t.Fatalf("testkit: send: %v", err)
	}
}

// Next returns the next frame as a JSON object (did not hang: 10 s).
func (w *WS) Next() map[string]any {
	w.t.Helper()
	select {
	case b, ok := <-w.frames:
		if !ok {
			w.t.Fatalf("testkit: connection closed (%d %s) while waiting for a frame", w.CloseCode, w.CloseReason)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			w.t.Fatalf("testkit: frame is not a JSON object: %s", b)
		}
		return m
	case <-time.After(10 * time.Second):
		w.t.Fatal("testkit: no frame within 10s")
	}
	return nil
}

// Expect returns the next frame and fails unless its "type" is typ.
func (w *WS) Expect(typ string) map[string]any {
	w.t.Helper()
	m := w.Next()
	if m["type"] != typ {
		w.t.Fatalf("testkit: frame %v, want type %q", m, typ)
	}
	return m
}

// None fails if a frame arrives within d.
func (w *WS) None(d time.Duration) {
	w.t.Helper()
	select {
	case b, ok := <-w.frames:
		if ok {
			w.t.Fatalf("testkit: unexpected frame %s", b)
		}
	case <-time.After(d):
	}
}

// WaitClosed waits (did not hang: 10 s) until the server closes the
// connection, skipping frames, and returns its close code and reason.
func (w *WS) WaitClosed() (int, string) {
	w.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-w.frames:
			if !ok {
				return w.CloseCode, w.CloseReason
			}
		case <-deadline:
			w.t.Fatal("testkit: the server did not close the connection within 10s")
		}
	}
}

// WSURL is the app's ws:// base, for clients other than Dial.
func (a *App) WSURL() string { return strings.Replace(a.URL(), "http://", "ws://", 1) }

//go:build linux

package db

import (
	"errors"
	"io"
	"net"
	"syscall"
)

var errUnexpectedData = errors.New("db: data waiting on an idle connection")

// alive reports whether an idle connection can be reused, without reading
// from it: a peek finds a peer that hung up (Postgres restarted: it sends a
// FATAL "terminating connection" and closes), so the pool drops the
// connection before a request fails on it.
func alive(c net.Conn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var n int
	var peekErr error
	if err := raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, peekErr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	}); err != nil {
		return err
	}
	switch {
	case errors.Is(peekErr, syscall.EAGAIN) || errors.Is(peekErr, syscall.EWOULDBLOCK):
		return nil
	case peekErr != nil:
		return peekErr
	case n == 0:
		return io.EOF
	}
	// An idle session has nothing to say; whatever it says (an error before
	// a shutdown, most likely) leaves its state unknown.
	return errUnexpectedData
}

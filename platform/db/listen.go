package db

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"
)

// Listener is one connection that LISTENs on a channel, outside the pool.
// Not safe for concurrent use, except Close.
type Listener struct {
	ln      *pgdriver.Listener
	channel string
}

// Listen opens a connection and sends LISTEN channel. The server may not
// have processed the LISTEN when it returns: callers that must not miss a
// notification confirm it with a notification of their own (see
// events.Reader).
func Listen(ctx context.Context, d *bun.DB, channel string) (*Listener, error) {
	ln := pgdriver.NewListener(d)
	if err := ln.Listen(ctx, channel); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return &Listener{ln: ln, channel: channel}, nil
}

// Wait returns the payload of the next notification, or ok=false when none
// came within timeout. Any error means the connection is gone: Close it and
// Listen again.
func (l *Listener) Wait(ctx context.Context, timeout time.Duration) (payload string, ok bool, err error) {
	_, payload, err = l.ln.ReceiveTimeout(ctx, timeout)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "", false, nil
		}
		return "", false, err
	}
	return payload, true, nil
}

// Close closes the connection; a Wait in progress returns an error.
func (l *Listener) Close() error { return l.ln.Close() }

// Notify sends a notification on channel.
func Notify(ctx context.Context, d bun.IDB, channel, payload string) error {
	_, err := d.ExecContext(ctx, "SELECT pg_notify(?, ?)", channel, payload)
	return err
}

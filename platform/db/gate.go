package db

import (
	"context"
	"time"

	"github.com/selfdb/selfdb/platform/config"
)

// Gate hands the pool's connections to its callers in arrival order.
// database/sql gives a freed connection to a random waiter, so under load a
// request can wait many times the median for one (make bench, table reads at
// 64 connections: p99 4–9× p50). Callers of the gate wait on a channel
// instead, whose waiting senders Go serves first come, first served, and
// reach the pool only when a connection is free.
//
// Use it around one statement or one transaction on the hot paths; never
// nest Enter (a caller holding a slot while waiting for another can
// deadlock the pool).
type Gate struct {
	slots chan struct{}
	wait  time.Duration
}

// NewGate sizes the gate to the pool (DB_MAX_OPEN_CONNS); a caller waits
// for a slot at most DB_ACQUIRE_TIMEOUT, as for a connection.
func NewGate(cfg *config.Config) *Gate {
	return &Gate{slots: make(chan struct{}, cfg.MaxOpenConns()), wait: cfg.DBAcquireTimeout}
}

// Enter waits for a free connection slot, at most DB_ACQUIRE_TIMEOUT and
// never past ctx: ErrBusy otherwise. Call the returned function once the
// statement's rows are read (or the transaction ended).
func (g *Gate) Enter(ctx context.Context) (leave func(), err error) {
	select {
	case g.slots <- struct{}{}:
		return g.leave, nil
	default:
	}
	if g.wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.wait)
		defer cancel()
	}
	select {
	case g.slots <- struct{}{}:
		return g.leave, nil
	case <-ctx.Done():
		return nil, ErrBusy.Wrap(ctx.Err())
	}
}

func (g *Gate) leave() { <-g.slots }

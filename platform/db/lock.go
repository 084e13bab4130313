package db

import (
	"context"
	"database/sql"
	"hash/fnv"

	"github.com/uptrace/bun"
)

// LockKey is the advisory lock id of a job name (64-bit FNV-1a), so that
// every instance derives the same key from the same name.
func LockKey(name string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("selfdb:" + name))
	return int64(h.Sum64())
}

// WithAdvisoryLock runs fn in a transaction that holds the advisory lock
// named name, unless another session holds it: then it returns false at once
// (the other instance does the job this time). Cluster-wide background jobs
// use it so that N instances run each tick once. fn does its database work
// in tx: holding one pool connection while waiting for another could starve
// the pool. The lock ends with the transaction.
func WithAdvisoryLock(ctx context.Context, d *bun.DB, name string, fn func(ctx context.Context, tx bun.Tx) error) (ran bool, err error) {
	err = d.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.QueryRowContext(ctx, "SELECT pg_try_advisory_xact_lock(?)", LockKey(name)).Scan(&ran); err != nil {
			return err
		}
		if !ran {
			return nil
		}
		return fn(ctx, tx)
	})
	if err != nil {
		return false, Err(err)
	}
	return ran, nil
}

// Package cache wraps memcached (gomemcache) for every module: JSON values
// under the key prefix selfdb:v1:<domain>:<id>, a TTL from CACHE_TTL,
// singleflight so a cold key is loaded once per process, short timeouts, and a
// circuit breaker. When memcached is down the cache reports misses, callers
// read Postgres, and invalidations are queued and replayed on recovery, so the
// server is slower but never failing and never serves stale data afterwards:
// a queued key misses until its replay has written the tombstone, and an
// invalidation lost to a blip too short to open the breaker is replayed as
// soon as a call reaches memcached again.
//
// Invalidation writes a short tombstone instead of deleting. A loader that
// missed on an absent key stores with Add, one that missed on a tombstone
// swaps exactly that tombstone (CAS): a reader that fetched a row before a
// writer committed can't put the old row back after the writer's
// invalidation, while the first load after it is cached at once.
//
// Concurrent look-ups are sent to memcached together (batch.go): a look-up
// goes out at once when a connection slot is free, and the ones that arrive
// while all are busy share the next multi-key get.
package cache

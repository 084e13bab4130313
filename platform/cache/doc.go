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
// Invalidation writes a short tombstone instead of deleting, and loaders store
// with Add: a reader that fetched a row before a writer committed can't put
// the old row back after the writer's invalidation.
package cache

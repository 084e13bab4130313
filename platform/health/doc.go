// Package health serves GET /, /healthz, /readyz, /api/v1/health and
// /api/v1/health/db (api.md §1). /readyz is 200 when Postgres answers and
// no migration is pending; it also reports memcached ("cache": up, down,
// disabled: from a live ping at most a second old, cache.Alive) and the
// change-log reader ("events": live, down), neither of which makes the
// server unready.
package health

// Package health serves GET /, /healthz, /readyz, /api/v1/health and
// /api/v1/health/db (api.md §1).
package health

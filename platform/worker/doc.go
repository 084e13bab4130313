// Package worker is the one shape of background work: a Worker is a named
// Run(ctx) that the platform's Supervisor starts with the app, restarts with
// back-off when it fails or panics, and stops (cancelling its context) when
// the app stops. Every runs a job periodically; db.WithAdvisoryLock makes a
// periodic job cluster-wide (one instance at a time). Modules contribute
// workers with As, into the "workers" value group.
//
// Metrics: selfdb_worker_running{worker} (1 while Run runs),
// selfdb_worker_restarts_total{worker}, selfdb_worker_errors_total{worker}
// (failed runs and failed ticks of periodic jobs).
package worker

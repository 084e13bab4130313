// Package metrics owns the Prometheus registry every package registers its
// collectors in, and serves it at /metrics.
package metrics

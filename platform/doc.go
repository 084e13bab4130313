// Package platform bundles the shared machinery every module runs on into
// one Fx module: configuration, logging, metrics, Postgres (Bun), migrations,
// memcached, the HTTP server and the health routes.
package platform

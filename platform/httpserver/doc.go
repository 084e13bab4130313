// Package httpserver builds the one Fiber app: the global middleware chain
// (request id → access log + metrics → recover → CORS → body limit → database
// deadline → anon-key gate), the routes every module contributes through the "routes" value
// group, the single ErrorHandler that renders the contract's error bodies,
// and the listener's lifecycle (graceful drain on stop).
package httpserver

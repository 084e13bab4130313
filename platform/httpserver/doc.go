// Package httpserver builds the one Fiber app: the global middleware chain
// (request id → access log + metrics → recover → CORS → body limit → database
// deadline → anon-key gate), the routes every module contributes through the "routes" value
// group, the single ErrorHandler that renders the contract's error bodies,
// and the listener's lifecycle (graceful drain on stop).
//
// Bodies: outside a Streamer's prefixes a body is read into memory while it
// streams in, up to BODY_LIMIT_BYTES, or JSON_BODY_LIMIT_BYTES for JSON (and
// for no Content-Type); past it, 413 and the connection closes. Headers past
// the 16 KiB read buffer are 431. A connection answered before its request
// was read to the end closes lingering (linger.go), so the client gets the
// answer rather than a reset. DecodeJSON accepts fields the target struct
// lacks (the SDKs send some) and logs their names at debug level.
//
// Public paths: a module's Public entries ending in "/" open every path
// under them, other entries exactly that path.
//
// Routes and their documentation: a module lists its operations in one API
// (Documented: method, path, summary, Access, parameters, body and response
// DTO values, the errors it returns, handlers) and its Register mounts
// exactly that list (Mount, which puts the guard Access names in front of
// the handlers). The OpenAPI 3 document (openapi.go) is built at start from
// the routes the app serves, described by those operations: schemas are
// reflected from the DTO types and their json tags (schema.go; request
// bodies accept unknown fields, additionalProperties: true), error statuses
// and codes come from the declared errors plus the anon key, Access and
// validation, and security from Access and the same public paths the
// anon-key gate uses. A route registered outside an API is listed with
// x-undocumented, which testkit.OpenAPIProblems reports. /docs (Swagger UI)
// and /redoc load their assets from the binary (docsui/, under
// /static/docs/), so they work without internet.
//
// Error codes: invalid_anon_key (401), not_found (404), method_not_allowed
// (405), body_too_large (413), headers_too_large (431), bad_request (a
// request Fiber could not parse), plus validation_failed and internal.
package httpserver

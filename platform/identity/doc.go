// Package identity is who calls: the Principal (anon, user, superuser or the
// service role of background work), the middleware that resolves a request's
// Bearer token through the Resolver modules/auth provides, the route guards
// RequireUser and RequireSuperuser, and the refusals every module shares
// (errors.go).
//
// Error codes: not_authenticated (401), not_enough_privileges (403, needs a
// superuser), not_enough_permissions (403, needs the owner or a superuser),
// owner_not_found (400).
package identity

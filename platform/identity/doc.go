// Package identity is who calls: the Principal (anon, user, superuser or the
// service role of background work), the middleware that resolves a request's
// Bearer token through the Resolver modules/auth provides, the route guards
// RequireUser and RequireSuperuser, and the two refusals every module shares
// (not_authenticated, not_enough_privileges).
package identity

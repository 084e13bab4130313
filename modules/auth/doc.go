// Package auth owns sign-in: the /api/v1/auth routes (login, register,
// refresh, logout, logout-all), access JWTs (HS256), opaque refresh tokens
// stored as SHA-256 hashes, password hashing (bcrypt), the superuser
// bootstrap, login/register/refresh rate limits, and the Identity every other
// module asks "who is calling?".
//
// Tables: selfdb.users and selfdb.refresh_tokens; auth is their only
// writer. modules/users administers accounts through Service's account
// methods (accounts.go).
//
// Cache: users:<id> in memcached holds the User (never the password hash)
// read by Identity on every authenticated request, with an in-process copy
// in front of it. Both are kept exact on every instance by the change log's
// user.changed and user.deleted events (usercache.go), whatever memcached
// does. rl:<scope>:<window>:<subject> are the rate-limit counters (memcached
// Incr/Decr, shared by every instance).
//
// Workers: auth.purge-refresh-tokens (cluster-wide, AUTH_TOKEN_PURGE_INTERVAL).
//
// Rate limits (api.md §2.2), fixed windows of AUTH_RATE_LIMIT_WINDOW: login
// attempts per client IP and failed logins per email; registrations per IP
// and per email; refreshes per IP (a refresh names no email). Over a limit:
// 429 with Retry-After. While memcached is unreachable each instance counts
// for itself: the limits still hold, per process. A login counts as a failure
// before its password is checked (so concurrent guesses can't all pass one
// unchanged count) and gives its place back when the password is right.
//
// Anon key: POST /api/v1/auth/refresh alone needs none (the refresh token is
// the credential; the original admin UI refreshes without it): Routes
// declares that one path public. The other auth routes need the key.
//
// Refresh tokens: non-rotating by default (SDKs keep the first one). With
// AUTH_REFRESH_ROTATION=true, /refresh retires the presented token and
// returns a new one in the same family (one family per login); presenting a
// retired token again after AUTH_REFRESH_REUSE_GRACE revokes the family.
// /logout revokes the presented token's family.
//
// Registration: open to anyone unless AUTH_ALLOW_SIGNUP is false; then
// /register answers 403 signup_disabled (before reading the body) and only a
// superuser creates users (POST /api/v1/users, modules/users).
//
// Python-era access tokens (HS256 with the same SECRET_KEY, sub = the
// user's email, no typ): accepted until they expire when
// AUTH_ACCEPT_LEGACY_TOKENS is true (off by default), for the cut-over from
// a Python deployment; the email is resolved to the user's id once per
// token, and the user must be active on every request, as with any token.
//
// Error codes: invalid_credentials, inactive_user, email_taken, signup_disabled,
// invalid_refresh_token, user_gone, user_has_data, not_authenticated,
// not_enough_privileges, rate_limited, plus validation_failed.
package auth

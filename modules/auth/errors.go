package auth

import "github.com/selfdb/selfdb/platform/apperr"

// The auth module's errors (api.md §0.3, §2).
var (
	// ErrInvalidCredentials is the login failure, the same for an unknown email and a wrong password.
	ErrInvalidCredentials = apperr.Invalid("invalid_credentials", "Incorrect email or password")
	// ErrInactiveUser is a correct login of a deactivated account.
	ErrInactiveUser = apperr.Invalid("inactive_user", "Inactive user")
	// ErrEmailTaken is a registration with an email already in use.
	ErrEmailTaken = apperr.Invalid("email_taken", "A user with this email already exists.")
	// ErrInvalidRefreshToken is an unknown, expired, revoked or reused refresh token.
	ErrInvalidRefreshToken = apperr.Unauthenticated("invalid_refresh_token", "Invalid or expired refresh token")
	// ErrUserGone is a refresh token whose user was deleted or deactivated.
	ErrUserGone = apperr.Unauthenticated("user_gone", "User no longer exists")
	// ErrUserHasData is a user delete blocked by rows no module cleaned up.
	ErrUserHasData = apperr.Conflict("user_has_data", "The user still owns data that blocks the deletion")
	// ErrSignupDisabled is a registration while AUTH_ALLOW_SIGNUP is false.
	ErrSignupDisabled = apperr.Forbidden("signup_disabled", "Self-registration is disabled on this server; an administrator creates accounts")
	// ErrRateLimited is a request over a rate limit; the Retry-After header is added per response.
	ErrRateLimited = apperr.RateLimited("rate_limited", "Too many requests, try again later")
)

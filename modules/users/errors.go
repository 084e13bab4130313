package users

import "github.com/selfdb/selfdb/platform/apperr"

// The users module's errors (api.md §3).
var (
	// ErrUserNotFound is an unknown user id (superuser routes).
	ErrUserNotFound = apperr.NotFound("user_not_found", "The user with this id does not exist in the system")
	// ErrEmailExists is an email already used by another account.
	ErrEmailExists = apperr.Invalid("email_exists", "The user with this email already exists in the system.")
	// ErrIncorrectPassword is a wrong current password on PUT /me/password.
	ErrIncorrectPassword = apperr.Invalid("incorrect_password", "Current password is incorrect")
	// ErrCannotDeleteSelf is a superuser deleting their own account.
	ErrCannotDeleteSelf = apperr.Invalid("cannot_delete_self", "Super users are not allowed to delete themselves")
)

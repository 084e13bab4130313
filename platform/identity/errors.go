package identity

import "github.com/selfdb/selfdb/platform/apperr"

// The refusals every module shares (api.md §0.3, §4, §5), declared once.
var (
	// ErrNotAuthenticated is the 401 of routes that need a user.
	ErrNotAuthenticated = apperr.Unauthenticated("not_authenticated",
		"Authentication with user credentials required for this endpoint").WithHeader("WWW-Authenticate", "Bearer")
	// ErrNotEnoughPrivileges is the 403 of routes that need a superuser.
	ErrNotEnoughPrivileges = apperr.Forbidden("not_enough_privileges", "The user doesn't have enough privileges")
	// ErrNotOwner is the 403 of a write to something the caller neither owns
	// nor may administer (a bucket, a file).
	ErrNotOwner = apperr.Forbidden("not_enough_permissions", "Not enough permissions")
	// ErrOwnerNotFound is a write naming as owner a user that no longer
	// exists (deleted while the request ran).
	ErrOwnerNotFound = apperr.Invalid("owner_not_found", "The owner does not exist")
)

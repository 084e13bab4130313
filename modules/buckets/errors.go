package buckets

import "github.com/selfdb/selfdb/platform/apperr"

// The module's errors (api.md §4).
var (
	// ErrNotFound is an unknown bucket id.
	ErrNotFound = apperr.NotFound("bucket_not_found", "Bucket not found")
	// ErrExists is a taken bucket name.
	ErrExists = apperr.Invalid("bucket_exists", "Bucket with this name already exists")
	// ErrInvalidName is a name outside the naming rules.
	ErrInvalidName = apperr.Invalid("invalid_bucket_name", "Bucket name must contain only letters, numbers, and hyphens")
	// ErrNotPublic is anon reading a private bucket.
	ErrNotPublic = apperr.Forbidden("bucket_not_public", "This bucket is not public")
	// ErrForbidden is a user reading another user's private bucket.
	ErrForbidden = apperr.Forbidden("bucket_forbidden", "Not enough permissions")
)

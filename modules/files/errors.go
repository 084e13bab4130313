package files

import "github.com/selfdb/selfdb/platform/apperr"

// The module's errors (api.md §5).
var (
	// ErrFileNotFound is an unknown file id or object, or one not uploaded yet.
	ErrFileNotFound = apperr.NotFound("file_not_found", "File not found")
	// ErrBucketDenied is an upload into another user's private bucket.
	ErrBucketDenied = apperr.Forbidden("bucket_permission_denied", "Permission denied for this bucket")
	// ErrAuthRequired is anon asking for a private file's info.
	ErrAuthRequired = apperr.Unauthenticated("authentication_required", "Authentication required")
	// ErrAccessDenied is a user asking for another user's private file.
	ErrAccessDenied = apperr.Forbidden("file_access_denied", "Access denied to this file")
	// ErrNotPublicFile is a /public/... route asked for a private file.
	ErrNotPublicFile = apperr.Forbidden("file_not_public", "File is not in a public bucket.")
	// ErrBadSignature is a missing, tampered or expired URL signature.
	ErrBadSignature = apperr.Forbidden("invalid_signature", "Invalid or expired signature")
	// ErrInvalidName is a byte-route path whose bucket or object name could escape storage.
	ErrInvalidName = apperr.Invalid("invalid_object_name", "Invalid bucket or object name")
	// ErrInvalidFilename is an original filename that is empty, too long or has control characters.
	ErrInvalidFilename = apperr.Invalid("invalid_filename", "Invalid filename")
	// ErrAlreadyUploaded is a second upload to a used URL (objects are never overwritten).
	ErrAlreadyUploaded = apperr.Conflict("object_exists", "The file has already been uploaded")
	// ErrTooLarge is an upload over MAX_UPLOAD_BYTES.
	ErrTooLarge = apperr.TooLarge("file_too_large", "File exceeds the maximum upload size")
	// ErrNoFilePart is a multipart upload without a "file" field.
	ErrNoFilePart = apperr.Invalid("missing_file_field", "Multipart upload must contain a 'file' field")
	// ErrSizeMismatch is an upload whose body length differs from the size declared at initiate-upload.
	ErrSizeMismatch = apperr.Invalid("size_mismatch", "The upload's length differs from the size declared when it was initiated")
	// ErrIncompleteUpload is a body that ended before its declared length.
	ErrIncompleteUpload = apperr.Invalid("incomplete_upload", "The upload body ended early")
	// ErrInsufficientSpace is a full disk (507).
	ErrInsufficientSpace = apperr.New(apperr.KindInsufficientStorage, "insufficient_storage", "Not enough storage space to store the file").WithHeader("Retry-After", "60")
	// ErrStorageUnavailable is a storage directory that cannot be written (503).
	ErrStorageUnavailable = apperr.Unavailable("storage_unavailable", "File storage is unavailable, try again later").WithHeader("Retry-After", "30")
	// ErrRangeNotSatisfiable is a Range starting past the end (416).
	ErrRangeNotSatisfiable = apperr.New(apperr.KindRangeNotSatisfiable, "range_not_satisfiable", "Requested range not satisfiable")
)

// Package files owns file metadata and bytes: the /api/v1/files routes
// (api.md §5.2), GET /api/v1/buckets/{id}/files, the byte routes under
// /files/ (§5.3: upload-direct, download, view, list), the selfdb.files
// table and the Store that keeps bytes at STORAGE_PATH/<bucket_id>/<object>.
//
// Upload: initiate-upload inserts a pending row and hands out a URL signed
// with HMAC-SHA256 (key derived from SECRET_KEY) over method, bucket id,
// object name and expiry (SIGNED_URL_TTL). The signature is the URL path's
// last segment, /files/upload-direct/<bucket>/<object>/<expires>.<hex mac>,
// so that a client keeping only the path (the original admin UI, through
// its proxy) still uploads; URLs signed in the query (?expires=&signature=,
// handed out before) are accepted until they expire. A pending row reports
// the size declared at initiate-upload (0 when none); when one was declared,
// a body of another length is refused (400 size_mismatch: a raw body's
// Content-Length before a byte is read, a multipart file part while it
// streams) and nothing is stored. The PUT streams the body (raw or
// the multipart "file" field, never buffered) into a temp file in the
// bucket's directory while counting and hashing, enforces MAX_UPLOAD_BYTES,
// fsyncs, links it into place (never over an existing object: 409) and
// fsyncs the directory; only then the row becomes ready with the stored size
// and SHA-256. A failed or aborted upload removes its temp file and leaves
// the row pending. A full disk answers 507, an unwritable directory 503.
//
// Reads: public buckets need nothing; private ones a GET signature
// (DOWNLOAD_URL_TTL) or the Bearer token of the file's owner, the bucket's
// owner or a superuser. Downloads stream from the file with ranges, ETag
// (the SHA-256), Last-Modified and If-None-Match.
//
// The bytes are user content served from the API's origin, so every byte
// response carries Content-Security-Policy: sandbox and nosniff, the served
// Content-Type is the stored one re-rendered from its parsed form (never the
// view URL's content_type), and active types (HTML, SVG, XML, JavaScript)
// are attachments even on the view route, unless FILES_PUBLIC_URL names a
// separate origin for the download and view URLs.
//
// Deletion order is always rows first, then bytes: a crash in between
// leaves unreachable bytes (never a row without bytes). The janitor (at
// start and every STORAGE_CLEANUP_INTERVAL) deletes temp files untouched for
// twice HTTP_READ_TIMEOUT (at least that + 2s; 20m when it is 0), pending
// rows whose upload URL expired, and directories of buckets that no longer
// exist. The temp cutoff is safe when instances share the volume: an upload
// keeps writing as bytes arrive, and one that receives nothing for
// HTTP_READ_TIMEOUT (10m when that is 0) is cut off.
//
// Cache: file rows by id under "files:<id>", deleted after every write.
//
// Deleting a user (users.OwnedData) deletes every file they uploaded, in any
// bucket, bytes included.
//
// Error codes: file_not_found, bucket_not_found, bucket_permission_denied,
// authentication_required, file_access_denied, file_not_public,
// not_enough_permissions, invalid_signature, invalid_object_name,
// invalid_filename, object_exists, file_too_large, missing_file_field,
// size_mismatch, incomplete_upload, insufficient_storage, storage_unavailable,
// range_not_satisfiable.
package files

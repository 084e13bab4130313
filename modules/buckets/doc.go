// Package buckets owns storage buckets: the /api/v1/buckets routes
// (api.md §4) and the selfdb.buckets table.
//
// Visibility: anon sees public buckets, a user sees their own and public
// ones, a superuser sees all. Stats (file_count, total_size of ready files'
// stored bytes) come from one query with a lateral aggregate over
// selfdb.files; that table belongs to modules/files, which is this module's
// other half (a bucket's stats are its files).
//
// Cache: a bucket by id under cache key "buckets:<id>", deleted after every
// write (update, delete). Stats are never cached.
//
// Deleting a bucket: its file rows and the bucket row are deleted in one
// transaction (through Contents, implemented by modules/files), then the
// bucket's directory STORAGE_PATH/<bucket_id> is removed. Rows go first on
// purpose: a crash between the commit and the directory removal leaves bytes
// no row points at — invisible to clients and removed by the files janitor,
// which deletes directories whose bucket id has no row — whereas the other
// order could leave rows pointing at missing bytes. The caller sees the
// bucket and every file gone at once.
//
// Deleting a user (users.OwnedData) deletes each of their buckets the same way.
//
// Error codes: bucket_not_found, bucket_exists, invalid_bucket_name,
// bucket_not_public, bucket_forbidden, not_enough_permissions.
package buckets

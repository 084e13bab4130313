// Package users owns the /api/v1/users routes (api.md §3): the caller's own
// account (GET/PUT /me, PUT /me/password, GET /me/anon-key), the user
// directory (GET /list, GET /count), and superuser administration (GET "",
// POST "", GET/PUT/DELETE /{user_id}).
//
// Table: none of its own. modules/auth owns selfdb.users; this module holds
// the administration rules and calls auth's account methods (Accounts),
// which drop cached copies at once here and, through the change log, on
// every instance, so a deactivation, demotion or deletion takes effect on
// the user's next request everywhere.
//
// Password changes (PUT /me with password, PUT /me/password, PUT /{user_id}
// with password) and deactivation revoke all of the user's refresh tokens.
//
// Delete semantics (DELETE /{user_id}): the user's data is deleted with the
// account. The service first calls every OwnedData registered in the
// "owned_data" Fx group (buckets, files with their bytes, functions, ...),
// in no particular order, then deletes the user's refresh tokens and the user
// row in one transaction. If an OwnedData fails, the call fails with that
// error and the account stays (whatever that module already removed stays
// removed; calling DELETE again finishes the job). If a row that no
// OwnedData cleans up still references the user, the delete answers 409
// user_has_data naming the blocking constraint instead of a 500. A superuser
// cannot delete their own account (400).
//
// Error codes: user_not_found, email_exists, incorrect_password,
// cannot_delete_self, user_has_data, not_enough_privileges,
// validation_failed.
package users

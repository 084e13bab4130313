// Package importpython is `selfdb import-python`: it moves a running Python
// SelfDB deployment (its database, storage directory and functions
// directory) into the Go server's database and STORAGE_PATH, run after run
// while Python keeps serving, and `--verify` compares the two.
//
// It lives under cmd/selfdb rather than modules/ because it is a tool, not a
// domain of the server: like migrations/, it writes the tables of several
// modules (users and refresh tokens, buckets, files, table policies, SQL
// snippets, functions) in one transaction, which no module's service can do
// for another. It uses what the modules export for the parts they own the
// rules of: files.DiskStore writes the bytes (temp file, fsync, link),
// tables decides the secure policy and writes table_policies.
//
// One run, all or nothing:
//   - the source is read in one REPEATABLE READ READ ONLY transaction (a
//     consistent snapshot; nothing is ever written there);
//   - the target is migrated, then changed in one transaction; file bytes
//     are written before the rows that point at them commit, and removed
//     again when the run fails; bytes of deleted files go after the commit;
//   - selfdb.import_python_objects records what the import created, so a
//     later run updates only its own objects, deletes those gone from the
//     source, and refuses ids or names held by anything else (a clear
//     error, before any write);
//   - a user table already imported is synced by what was written since
//     the last run: every source row whose xmin is at or past the xmin of
//     the last run's snapshot (all older transactions had ended, so their
//     rows were imported) is staged in the target and kept if new or
//     different; rows deleted on the source show as a surplus of the
//     target's count, and only then are the source's keys streamed over to
//     find them. Without that snapshot, under --verify, or for a table the
//     Go server wrote to (--force), tables are compared by checksum (count
//     and two 64-bit sums of each row's md5) and, when they differ, by
//     primary key and row hash, joined in a temporary table of the target.
//     Only new, changed and deleted rows move (tables without a primary key
//     are copied whole when their checksums differ);
//   - imported rows bypass the change capture (history from the Python
//     side, not changes to deliver), and a run that finds writes to imported
//     objects in the change log since the previous run refuses to overwrite
//     them (the cut-over has happened) unless --force.
package importpython

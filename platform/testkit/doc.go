// Package testkit runs SelfDB's tests against real services: TestMain gives
// each test package its own database cloned from a migrated template; Start
// runs an in-process Fx app with a cache key prefix of its own; Case tables
// drive HTTP scenarios through the real stack; Golden compares output with
// testdata files; StartPostgres/StartMemcached give a test private servers
// it may stop and restart. Only tests import it.
//
// The shared services come from SELFDB_TEST_DATABASE_URL (a superuser URL to
// any database of the server) and SELFDB_TEST_MEMCACHED; `make test` starts
// throwaway ones and sets both.
package testkit

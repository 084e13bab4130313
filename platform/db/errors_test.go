package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestErrMapsRealPostgresErrors(t *testing.T) {
	d := testkit.OpenDB(t, testkit.DatabaseURL())
	ctx := context.Background()
	for _, q := range []string{
		`CREATE SCHEMA errt`,
		`CREATE TABLE errt.parent (id int PRIMARY KEY)`,
		`CREATE TABLE errt.child (
			id int PRIMARY KEY,
			parent int REFERENCES errt.parent (id),
			name varchar(3) NOT NULL,
			n int CONSTRAINT n_positive CHECK (n > 0))`,
		`INSERT INTO errt.parent VALUES (1)`,
	} {
		if _, err := d.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = d.ExecContext(context.Background(), `DROP SCHEMA errt CASCADE`) })

	exec := func(q string, args ...any) func() error {
		return func() error { _, err := d.ExecContext(ctx, q, args...); return err }
	}
	cases := []struct {
		name    string
		run     func() error
		state   string
		status  int
		code    string
		message string // a part of the client-facing message
	}{
		{"unique", exec(`INSERT INTO errt.parent VALUES (1)`), "23505", http.StatusConflict, "unique_violation", "duplicate key"},
		{"foreign key", exec(`INSERT INTO errt.child (id, parent, name) VALUES (1, 99, 'a')`), "23503", http.StatusConflict, "foreign_key_violation", "foreign key"},
		{"not null", exec(`INSERT INTO errt.child (id, name) VALUES (1, NULL)`), "23502", http.StatusBadRequest, "not_null_violation", "null value"},
		{"check", exec(`INSERT INTO errt.child (id, name, n) VALUES (1, 'a', -1)`), "23514", http.StatusBadRequest, "check_violation", "n_positive"},
		{"bad integer", exec(`SELECT 'abc'::int`), "22P02", http.StatusBadRequest, "invalid_value", "invalid input syntax"},
		{"bad integer parameter", exec(`SELECT ?::int`, "12x"), "22P02", http.StatusBadRequest, "invalid_value", "invalid input syntax"},
		{"value too long", exec(`INSERT INTO errt.child (id, name) VALUES (1, 'toolong')`), "22001", http.StatusBadRequest, "invalid_value", "too long"},
		{"out of range", exec(`SELECT 2147483647::int + 1`), "22003", http.StatusBadRequest, "invalid_value", "out of range"},
		{"division by zero", exec(`SELECT 1 / 0`), "22012", http.StatusBadRequest, "invalid_value", "division by zero"},
		// Bun drops NUL bytes from string arguments, so the server only sees
		// one produced server-side.
		{"NUL byte", exec(`SELECT convert_from('\x610062'::bytea, 'UTF8')`), "22021", http.StatusBadRequest, "invalid_value", "0x00"},
		{"undefined column", exec(`SELECT nope FROM errt.parent`), "42703", http.StatusBadRequest, "undefined_column", "nope"},
		{"undefined table", exec(`SELECT 1 FROM errt.nope`), "42P01", http.StatusNotFound, "undefined_table", "nope"},
		{"statement timeout", func() error {
			return d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				if _, err := tx.ExecContext(ctx, `SET LOCAL statement_timeout = '50ms'`); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `SELECT pg_sleep(2)`)
				return err
			})
		}, "57014", http.StatusGatewayTimeout, "statement_timeout", "time limit"},
		{"syntax error is internal", exec(`SELEC 1`), "42601", http.StatusInternalServerError, "internal", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := c.run()
			if raw == nil {
				t.Fatal("no error")
			}
			if got := db.SQLState(raw); got != c.state {
				t.Fatalf("SQLSTATE %q, want %q (%v)", got, c.state, raw)
			}
			for _, err := range []error{raw, fmt.Errorf("repository: %w", raw)} {
				var ae *apperr.Error
				if !errors.As(db.Err(err), &ae) {
					t.Fatalf("Err(%v) is not an *apperr.Error", err)
				}
				if ae.Kind.Status() != c.status || ae.Code != c.code {
					t.Fatalf("Err(%v) = %d %s, want %d %s", err, ae.Kind.Status(), ae.Code, c.status, c.code)
				}
				if c.message != "" && !strings.Contains(ae.Message, c.message) {
					t.Errorf("message %q lacks %q", ae.Message, c.message)
				}
				if db.SQLState(ae) != c.state {
					t.Error("the driver error is not kept as the cause")
				}
			}
		})
	}
	if got := db.Constraint(cases[0].run()); got != "parent_pkey" {
		t.Errorf("Constraint = %q, want parent_pkey", got)
	}
}

func TestErrPassThroughAndNoRows(t *testing.T) {
	if db.Err(nil) != nil {
		t.Fatal("Err(nil) is not nil")
	}
	ae := apperr.NotFound("thing_not_found", "Thing not found")
	if got := db.Err(ae); got != error(ae) {
		t.Fatalf("apperr not passed through: %v", got)
	}
	wrapped := fmt.Errorf("service: %w", ae)
	if got := db.Err(wrapped); got != wrapped {
		t.Fatalf("wrapped apperr not passed through: %v", got)
	}

	d := testkit.OpenDB(t, testkit.DatabaseURL())
	var n int
	err := d.QueryRowContext(context.Background(), `SELECT 1 WHERE false`).Scan(&n)
	if !db.ErrNoRows(err) || !db.ErrNoRows(fmt.Errorf("x: %w", err)) || db.ErrNoRows(errors.New("other")) {
		t.Fatalf("ErrNoRows(%v) wrong", err)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		t.Fatal("precondition")
	}
}

// Waiting past the caller's deadline for a pooled connection is 503
// database_busy with Retry-After (the caller may try again), not the
// database being unreachable; a query cut by its deadline is never a 500,
// and the pool stays usable.
func TestErrContextDeadline(t *testing.T) {
	d := testkit.OpenDB(t, testkit.DatabaseURL(), "DB_MAX_OPEN_CONNS", "1")
	conn, err := d.Conn(context.Background()) // the pool's only connection
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = d.ExecContext(ctx, `SELECT 1`)
	var ae *apperr.Error
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(db.Err(err), &ae) ||
		ae.Kind.Status() != http.StatusServiceUnavailable || ae.Code != "database_busy" || ae.Headers["Retry-After"] == "" {
		t.Fatalf("Err(%v) = %v, want 503 database_busy with Retry-After", err, db.Err(err))
	}
	// Acquire gives up after its own wait, shorter than the caller's.
	start := time.Now()
	if _, err := db.Acquire(context.Background(), d, 50*time.Millisecond); !errors.Is(err, db.ErrBusy) {
		t.Fatalf("Acquire on a full pool: %v, want database_busy", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Acquire waited %s, want about 50ms", took)
	}
	// A transaction that database/sql already ended (as it does when the
	// transaction's deadline passes) is busy too.
	tx, err := conn.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback()
	if err := tx.Commit(); !errors.Is(err, sql.ErrTxDone) || !errors.Is(db.Err(err), db.ErrBusy) {
		t.Fatalf("Err(%v) = %v, want database_busy", err, db.Err(err))
	}

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = conn.ExecContext(ctx, `SELECT pg_sleep(2)`)
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.As(db.Err(err), &ae) || ae.Kind.Status() < 500 || ae.Kind == apperr.KindInternal {
		t.Fatalf("Err(%v) = %v, want a 503 or 504", err, db.Err(err))
	}
	conn.Close()
	if _, err := d.ExecContext(context.Background(), `SELECT 1`); err != nil {
		t.Fatalf("pool broken after a cut query: %v", err)
	}
}

// Postgres unreachable (connection refused) is 503 with Retry-After and no
// driver text in the client-facing message.
func TestErrConnectionRefused(t *testing.T) {
	d := testkit.OpenDB(t, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", testkit.FreePort(t)))
	start := time.Now()
	_, err := d.ExecContext(context.Background(), `SELECT 1`)
	if err == nil {
		t.Fatal("query succeeded against a closed port")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("refused connection took %s", took)
	}
	if !db.IsConnectionError(err) {
		t.Errorf("IsConnectionError(%v) = false", err)
	}
	var ae *apperr.Error
	if !errors.As(db.Err(err), &ae) {
		t.Fatalf("Err(%v) not an apperr", err)
	}
	if ae.Kind.Status() != http.StatusServiceUnavailable || ae.Code != "database_unavailable" || ae.Headers["Retry-After"] == "" {
		t.Fatalf("Err(%v) = %d %s %v", err, ae.Kind.Status(), ae.Code, ae.Headers)
	}
	if strings.Contains(ae.Message, "refused") || strings.Contains(ae.Message, "127.0.0.1") {
		t.Errorf("message leaks driver text: %q", ae.Message)
	}
	if !errors.Is(ae, err) && !errors.Is(ae.Err, err) {
		t.Error("cause not kept")
	}
	if db.IsConnectionError(nil) || db.IsConnectionError(errors.New("x")) {
		t.Error("IsConnectionError true for a non-network error")
	}
	// Ping gives up after its timeout, naming the cause.
	if err := db.Ping(context.Background(), d, 300*time.Millisecond); err == nil || !strings.Contains(err.Error(), "database unreachable") {
		t.Errorf("Ping: %v", err)
	}
}

// Every SQLSTATE class a caller's request can cause is a 4xx, server trouble
// is a 503, and the rest stays a logged 500. Postgres raises each state for
// real (RAISE ... USING ERRCODE), so the test covers the driver's error type.
func TestErrMapsSQLSTATEClasses(t *testing.T) {
	d := testkit.OpenDB(t, testkit.DatabaseURL())
	cases := []struct {
		state  string
		status int
		code   string
	}{
		{"0A000", http.StatusBadRequest, "feature_not_supported"},
		{"21000", http.StatusBadRequest, "cardinality_violation"},
		{"22P02", http.StatusBadRequest, "invalid_value"},
		{"22023", http.StatusBadRequest, "invalid_value"},
		{"23505", http.StatusConflict, "unique_violation"},
		{"23503", http.StatusConflict, "foreign_key_violation"},
		{"23001", http.StatusConflict, "foreign_key_violation"},
		{"23502", http.StatusBadRequest, "not_null_violation"},
		{"23514", http.StatusBadRequest, "check_violation"},
		{"23P01", http.StatusConflict, "exclusion_violation"},
		{"23000", http.StatusConflict, "integrity_violation"},
		{"25006", http.StatusBadRequest, "read_only_transaction"},
		{"2BP01", http.StatusConflict, "has_dependents"},
		{"2B000", http.StatusConflict, "has_dependents"},
		{"40001", http.StatusConflict, "serialization_failure"},
		{"40P01", http.StatusConflict, "serialization_failure"},
		{"40002", http.StatusConflict, "transaction_rollback"},
		{"42703", http.StatusBadRequest, "undefined_column"},
		{"42P01", http.StatusNotFound, "undefined_table"},
		{"42883", http.StatusBadRequest, "undefined_function"},
		{"42704", http.StatusBadRequest, "undefined_object"},
		{"42P07", http.StatusConflict, "duplicate_object"},
		{"42701", http.StatusConflict, "duplicate_object"},
		{"42710", http.StatusConflict, "duplicate_object"},
		{"42804", http.StatusBadRequest, "datatype_mismatch"},
		{"42501", http.StatusForbidden, "insufficient_privilege"},
		{"42P16", http.StatusBadRequest, "invalid_statement"},
		{"42611", http.StatusBadRequest, "invalid_statement"},
		{"42601", http.StatusInternalServerError, "internal"},
		{"44000", http.StatusBadRequest, "with_check_option_violation"},
		{"54000", http.StatusBadRequest, "program_limit_exceeded"},
		{"54011", http.StatusBadRequest, "program_limit_exceeded"},
		{"55P03", http.StatusServiceUnavailable, "lock_not_available"},
		{"55000", http.StatusConflict, "object_not_in_prerequisite_state"},
		{"55006", http.StatusConflict, "object_not_in_prerequisite_state"},
		{"57014", http.StatusGatewayTimeout, "statement_timeout"},
		{"57P01", http.StatusServiceUnavailable, "database_unavailable"},
		{"57P03", http.StatusServiceUnavailable, "database_unavailable"},
		{"08006", http.StatusServiceUnavailable, "database_unavailable"},
		{"53100", http.StatusServiceUnavailable, "database_unavailable"},
		{"53200", http.StatusServiceUnavailable, "database_unavailable"},
		{"53300", http.StatusServiceUnavailable, "database_unavailable"},
		{"P0001", http.StatusBadRequest, "raised_exception"},
		// Not a caller's doing: logged 500s.
		{"XX000", http.StatusInternalServerError, "internal"},
		{"25P02", http.StatusInternalServerError, "internal"},
		{"3F000", http.StatusInternalServerError, "internal"},
		{"F0000", http.StatusInternalServerError, "internal"},
	}
	for _, c := range cases {
		t.Run(c.state, func(t *testing.T) {
			_, raw := d.ExecContext(context.Background(),
				fmt.Sprintf(`DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '%s', MESSAGE = 'raised %s'; END $$`, c.state, c.state))
			if got := db.SQLState(raw); got != c.state {
				t.Fatalf("SQLSTATE %q, want %q (%v)", got, c.state, raw)
			}
			ae := apperr.From(db.Err(raw))
			if ae.Kind.Status() != c.status || ae.Code != c.code {
				t.Fatalf("Err = %d %s, want %d %s", ae.Kind.Status(), ae.Code, c.status, c.code)
			}
			// Serialization failures say what to do instead.
			if c.status < 500 && c.code != "serialization_failure" && ae.Message != "raised "+c.state {
				t.Errorf("message %q, want the server's", ae.Message)
			}
			if c.status == http.StatusServiceUnavailable && ae.Headers["Retry-After"] == "" {
				t.Error("503 without Retry-After")
			}
			if db.SQLState(ae) != c.state {
				t.Error("the driver error is not kept as the cause")
			}
		})
	}
}

// A server message longer than the connection's read buffer is still the
// caller's 400, and the pool stays usable (the driver drops the connection,
// whose unread rest of the message would poison the next query).
func TestErrLongServerMessages(t *testing.T) {
	d := testkit.OpenDB(t, testkit.DatabaseURL(), "DB_MAX_OPEN_CONNS", "1")
	ctx := context.Background()
	for _, n := range []int{5_000, 50_000, 200_000, 2_000_000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			_, raw := d.ExecContext(ctx, `SELECT ?::int`, strings.Repeat("x", n))
			if raw == nil {
				t.Fatal("no error")
			}
			ae := apperr.From(db.Err(raw))
			if ae.Kind.Status() != http.StatusBadRequest {
				t.Fatalf("Err(%.200v) = %d %s, want 400", raw, ae.Kind.Status(), ae.Code)
			}
			if n <= 50_000 && ae.Code != "invalid_value" {
				t.Errorf("a %d-byte message lost its SQLSTATE: %s", n, ae.Code)
			}
			if ae.Code == db.ErrMessageTooLong.Code && !strings.Contains(ae.Message, "too long") {
				t.Errorf("message %q", ae.Message)
			}
			var one int
			if err := d.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil || one != 1 {
				t.Fatalf("pool unusable after a long error: %v", err)
			}
		})
	}
}

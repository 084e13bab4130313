package sqlconsole

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/httpserver"
)

// StatementResult is one statement's outcome (api.md §7).
type StatementResult struct {
	Statement     string   `json:"statement"`
	IsReadOnly    bool     `json:"is_read_only"`
	Columns       []string `json:"columns,omitempty"`
	Data          []Row    `json:"data,omitempty"`
	RowCount      int64    `json:"row_count"`
	ExecutionTime float64  `json:"execution_time"`
	Message       string   `json:"message,omitempty"`
	Truncated     bool     `json:"truncated,omitempty"`
	// returnsRows marks statements that described a result (even an empty one).
	returnsRows bool
}

// MarshalJSON keeps columns and data present (even empty) for row-returning
// statements and absent for the others.
func (r StatementResult) MarshalJSON() ([]byte, error) {
	type plain StatementResult
	if !r.returnsRows {
		return json.Marshal(struct {
			plain
			Columns   []string `json:"columns,omitempty"`
			Data      []Row    `json:"data,omitempty"`
			Truncated bool     `json:"truncated,omitempty"`
		}{plain: plain(r)})
	}
	cols, data := r.Columns, r.Data
	if cols == nil {
		cols = []string{}
	}
	if data == nil {
		data = []Row{}
	}
	return json.Marshal(struct {
		plain
		Columns   []string `json:"columns"`
		Data      []Row    `json:"data"`
		Truncated bool     `json:"truncated"`
	}{plain(r), cols, data, r.Truncated})
}

// Row is one result row, encoded as an object in column order.
type Row struct {
	cols []string
	vals []any
}

// MarshalJSON writes the row as {"col": value, ...} in column order.
// OpenAPISchema: a row is an object, column → value.
func (Row) OpenAPISchema() httpserver.Schema {
	return httpserver.Schema{Type: "object", AdditionalProperties: true, Description: "column → value"}
}

func (r Row) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, c := range r.cols {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(c)
		b = append(b, k...)
		b = append(b, ':')
		v, err := json.Marshal(r.vals[i])
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// RunResult is a whole console run.
type RunResult struct {
	Success            bool              `json:"success"`
	IsReadOnly         bool              `json:"is_read_only"`
	Results            []StatementResult `json:"results"`
	TotalExecutionTime float64           `json:"total_execution_time"`
	TotalRowsAffected  int64             `json:"total_rows_affected"`
	Error              string            `json:"error,omitempty"`
	// wrote reports whether the run changed anything (an xid was assigned).
	wrote bool
}

// runner executes a script on one connection, in one transaction.
type runner struct {
	timeout  time.Duration
	rowCap   int
	policies Policies
}

// jsonValue makes a driver value encodable: json documents nested, other
// bytes as text, non-finite floats as strings.
func jsonValue(v driver.Value) any {
	switch x := v.(type) {
	case []byte:
		// pgdriver hands text and varchar over as strings and types it has
		// no decoder for (json, jsonb, numeric, uuid, arrays...) as bytes;
		// of those, only json documents are valid JSON objects or arrays
		// ("{}" is left alone: it is also an empty Postgres array).
		if len(x) > 2 && (x[0] == '{' || x[0] == '[') && json.Valid(x) {
			return json.RawMessage(append([]byte(nil), x...))
		}
		return string(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return strconv.FormatFloat(float64(x), 'g', -1, 32)
		}
	}
	return v
}

// errText is what a failed run shows: the server's message, or the error.
func errText(err error) string {
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		msg := pe.Field('M')
		if d := pe.Field('D'); d != "" {
			msg += "\nDETAIL: " + d
		}
		if h := pe.Field('H'); h != "" {
			msg += "\nHINT: " + h
		}
		return msg
	}
	// A server error too long for the driver's buffer arrives as the
	// driver's read failure, which would tell the user nothing.
	if e := db.Err(err); errors.Is(e, db.ErrMessageTooLong) {
		return db.ErrMessageTooLong.Message
	}
	return err.Error()
}

// transactionControl reports statements that would end or replace the run's
// transaction (its all-or-nothing promise, read-only mode and statement
// timeout would end with it). Savepoints stay allowed.
func transactionControl(words []string) bool {
	if len(words) == 0 {
		return false
	}
	switch words[0] {
	case "begin", "start", "commit", "end", "abort":
		return true
	case "rollback": // ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name is a savepoint
		rest := words[1:]
		if len(rest) > 0 && (rest[0] == "work" || rest[0] == "transaction") {
			rest = rest[1:]
		}
		return len(rest) == 0 || rest[0] != "to"
	case "prepare":
		return len(words) > 1 && words[1] == "transaction"
	}
	return false
}

// run executes stmts in one transaction on conn: all or nothing. SQL errors
// are reported in the result (Success false); only a broken connection is
// returned as an error.
func (r *runner) run(ctx context.Context, conn *sql.Conn, stmts []Statement, args []any, readOnly bool) (*RunResult, error) {
	res := &RunResult{Success: true, Results: []StatementResult{}}
	for _, st := range stmts {
		if transactionControl(st.Words) {
			res.Success, res.Results = false, nil
			res.Error = "Transaction control (BEGIN, COMMIT, ROLLBACK, ...) is not allowed: each request runs in one transaction, all or nothing; use SAVEPOINT, RELEASE and ROLLBACK TO within it"
			return res, nil
		}
	}
	begin := "BEGIN"
	if readOnly {
		begin = "BEGIN READ ONLY"
	}
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		return nil, err
	}
	ms := r.timeout.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	// The timeout is ours (configuration), never the caller's text.
	setup := "SET LOCAL statement_timeout = " + strconv.FormatInt(ms, 10)
	if readOnly {
		// A first query takes the snapshot, after which the script cannot
		// turn the transaction read-write (SET TRANSACTION READ WRITE).
		setup += "; SELECT 1"
	}
	if _, err := conn.ExecContext(ctx, setup); err != nil {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return nil, err
	}
	start := time.Now()
	fail := func(err error) (*RunResult, error) {
		// A broken connection was discarded (see one); Postgres rolls back
		// the transaction of a closed session, so the ROLLBACK may fail.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		if db.IsConnectionError(err) {
			// The connection broke or timed out: not the script's failure
			// (and a COMMIT's outcome is unknown), so not a SQL error.
			return nil, err
		}
		res.Success, res.Error, res.Results = false, errText(err), nil
		res.TotalExecutionTime = time.Since(start).Seconds()
		return res, nil
	}
	for _, st := range stmts {
		sr, err := r.one(ctx, conn, st, args)
		if err != nil {
			return fail(err)
		}
		if !res.wrote && !readOnly {
			var wrote bool
			if err := conn.QueryRowContext(ctx, "SELECT txid_current_if_assigned() IS NOT NULL").Scan(&wrote); err != nil {
				return fail(err)
			}
			if wrote {
				res.wrote, sr.IsReadOnly = true, false
			}
		}
		res.Results = append(res.Results, *sr)
		res.TotalRowsAffected += sr.RowCount
	}
	if res.wrote {
		// Policies follow tables this run renamed, and those of tables it
		// dropped are forgotten (a later table of the same name starts from
		// the default policy).
		if err := r.policies.SyncPolicies(ctx, conn); err != nil {
			return fail(err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fail(err)
	}
	res.IsReadOnly = !res.wrote
	res.TotalExecutionTime = time.Since(start).Seconds()
	return res, nil
}

// one runs a statement. Whether it returns rows comes from the server's
// description of the prepared statement, not from its text.
func (r *runner) one(ctx context.Context, conn *sql.Conn, st Statement, args []any) (*StatementResult, error) {
	sr := &StatementResult{Statement: st.SQL, IsReadOnly: readOnlyGuess(st.Words)}
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	t0 := time.Now()
	var stmtErr error
	err := conn.Raw(func(dc any) error {
		stmtErr = r.exec(ctx, dc, st, named, sr)
		var pe pgdriver.Error
		if stmtErr != nil && !errors.As(stmtErr, &pe) {
			// Not an answer from the server (a protocol surprise such as
			// COPY FROM STDIN, or a network error): the connection's state
			// is unknown, so database/sql must discard it.
			return driver.ErrBadConn
		}
		return nil
	})
	if stmtErr != nil {
		err = stmtErr
	}
	sr.ExecutionTime = time.Since(t0).Seconds()
	if err != nil {
		return nil, err
	}
	return sr, nil
}

// exec runs one statement on the driver connection dc, filling sr.
func (r *runner) exec(ctx context.Context, dc any, st Statement, named []driver.NamedValue, sr *StatementResult) error {
	prep, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return fmt.Errorf("sqlconsole: driver cannot prepare")
	}
	ds, err := prep.PrepareContext(ctx, st.SQL)
	if err != nil {
		return err
	}
	defer ds.Close()
	// pgdriver: NumInput is -1 exactly when the server described no
	// result columns (NoData).
	if ds.NumInput() < 0 {
		ex, ok := ds.(driver.StmtExecContext)
		if !ok {
			return fmt.Errorf("sqlconsole: driver cannot execute")
		}
		dr, err := ex.ExecContext(ctx, named)
		if err != nil {
			return err
		}
		n, _ := dr.RowsAffected()
		sr.RowCount = n
		sr.IsReadOnly = false
		sr.Message = fmt.Sprintf("Statement executed successfully. %d rows affected.", n)
		return nil
	}
	q, ok := ds.(driver.StmtQueryContext)
	if !ok {
		return fmt.Errorf("sqlconsole: driver cannot query")
	}
	rows, err := q.QueryContext(ctx, named)
	if err != nil {
		return err
	}
	defer rows.Close()
	sr.returnsRows = true
	// pgdriver pools row descriptions: keep a copy of the names.
	sr.Columns = append([]string{}, rows.Columns()...)
	dest := make([]driver.Value, len(sr.Columns))
	for {
		if err := rows.Next(dest); err != nil {
			if err == io.EOF {
				break
			}
			return err
		}
		if len(sr.Data) >= r.rowCap {
			sr.Truncated = true
			continue
		}
		vals := make([]any, len(dest))
		for i, v := range dest {
			vals[i] = jsonValue(v)
		}
		sr.Data = append(sr.Data, Row{cols: sr.Columns, vals: vals})
	}
	sr.RowCount = int64(len(sr.Data))
	return nil
}

package tables_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/selfdb/selfdb/platform/testkit"
)

// expectClientError checks a 4xx in the contract's shape that doesn't leak
// driver internals.
func expectClientError(t *testing.T, r *testkit.Response) {
	t.Helper()
	if r.Status < 400 || r.Status >= 500 {
		t.Fatalf("status %d, want 4xx; body: %.300s", r.Status, r.Body)
	}
	var body struct {
		Detail any    `json:"detail"`
		Code   string `json:"code"`
	}
	r.JSON(t, &body)
	if body.Detail == nil || body.Detail == "" || body.Code == "" {
		t.Fatalf("body lacks detail or code: %.300s", r.Body)
	}
	if strings.Contains(string(r.Body), "bufio") {
		t.Fatalf("body leaks driver text: %.300s", r.Body)
	}
}

// Server messages longer than the driver's read buffer (Postgres repeats the
// offending value in them) are 4xx like short ones, and leave the pool
// usable: with one connection, the next read runs on whatever replaced it.
func TestLongServerErrors(t *testing.T) {
	w := start(t, "DB_MAX_OPEN_CONNS", "1")
	w.create(t, map[string]any{"name": "nums", "columns": []map[string]any{
		{"name": "id", "type": "serial", "primary_key": true},
		{"name": "n", "type": "integer"},
	}, "access": map[string]any{"read": "public", "insert": "public", "update": "public", "delete": "public"}})
	w.sql(t, `INSERT INTO public.nums (n) VALUES (1)`)
	stillReads := func(t *testing.T) {
		t.Helper()
		rows, _ := page(t, w.do(t, "GET", "/api/v1/tables/nums/data", "", nil).Expect(t, 200))
		if len(rows) < 1 {
			t.Fatal("the table reads empty")
		}
	}
	digits := func(n int) json.RawMessage { return json.RawMessage(strings.Repeat("9", n)) }
	cases := []struct {
		name   string
		method string
		path   string
		token  string
		body   any
		status int    // 0: any 4xx
		code   string // "": any
	}{
		// Short enough for the driver's buffer: the server's own code.
		{"filter of 5,000 characters", "GET", "/api/v1/tables/nums/data?n=eq." + strings.Repeat("x", 5000), "", nil, 400, "invalid_value"},
		// The URL may not fit the server's read buffer: any 4xx will do.
		{"filter of 200,000 characters", "GET", "/api/v1/tables/nums/data?n=eq." + strings.Repeat("x", 200_000), "", nil, 0, ""},
		{"insert of a 5,000-digit number", "POST", "/api/v1/tables/nums/data", "", map[string]any{"n": digits(5000)}, 400, "invalid_value"},
		{"insert of a 500,000-digit number", "POST", "/api/v1/tables/nums/data", "", map[string]any{"n": digits(500_000)}, 400, ""},
		{"column with a default of 5,000 characters", "POST", "/api/v1/tables/nums/columns", w.su.Token,
			map[string]any{"column_name": "d", "data_type": "integer", "column_default": strings.Repeat("x", 5000)}, 400, "invalid_value"},
		{"column with a default of 200,000 characters", "POST", "/api/v1/tables/nums/columns", w.su.Token,
			map[string]any{"column_name": "d", "data_type": "integer", "column_default": strings.Repeat("x", 200_000)}, 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := overSocket(t, w.App, testkit.Req{Method: c.method, Path: c.path, Token: c.token, Body: c.body})
			if c.status != 0 && r.Status != c.status {
				t.Errorf("status %d, want %d; body: %.300s", r.Status, c.status, r.Body)
			}
			expectClientError(t, r)
			if c.code != "" && r.Map(t)["code"] != c.code {
				t.Errorf("code %v, want %s", r.Map(t)["code"], c.code)
			}
			stillReads(t)
		})
	}
}

// overSocket sends a request through the app's real listener: an in-process
// request can't show what a client sees when the server refuses the request
// line itself.
func overSocket(t *testing.T, a *testkit.App, r testkit.Req) *testkit.Response {
	t.Helper()
	req := testkit.BuildRequest(t, r)
	out, err := http.NewRequest(req.Method, a.URL()+req.URL.RequestURI(), req.Body)
	if err != nil {
		t.Fatal(err)
	}
	out.Header = req.Header
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		t.Fatalf("%s %.80s: %v", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &testkit.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// Postgres refusals outside the data classes are the caller's too: changing
// the type of a column a generated column uses is feature_not_supported
// (0A000), a 400 with the server's reason.
func TestUnsupportedAlterIsClientError(t *testing.T) {
	w := start(t)
	w.sql(t, `CREATE TABLE public.gen (id serial PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a * 2) STORED)`)
	r := w.do(t, "PUT", "/api/v1/tables/gen/columns/a", w.su.Token, map[string]any{"data_type": "text"}).Expect(t, 400)
	if msg := testkit.Match(map[string]any{"code": "feature_not_supported", "detail": testkit.Present}, r.Map(t)); msg != "" {
		t.Fatalf("%s: %s", msg, r.Body)
	}
	if !strings.Contains(string(r.Body), "generated column") {
		t.Errorf("detail lacks the server's reason: %s", r.Body)
	}
	w.do(t, "GET", "/api/v1/tables/gen/data", w.su.Token, nil).Expect(t, 200)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// session is what the setup prepared: tokens, the user's bucket and one
// stored file for the step test.
type session struct {
	api           *api
	adminToken    string
	email, passwd string // the plain user's
	userToken     string
	bucketID      string
	fileID        string // a small ready file in the bucket
	fileURL       string // its signed download URL
	fileBytes     []byte
}

// Tables the run writes: chaos_items by the fault run (checked at the end),
// chaos_steps by the step test.
const (
	chaosTable = "chaos_items"
	stepsTable = "chaos_steps"
)

// setup creates the plain user, the tables, the bucket and one file through
// the API of instance 0 (the admin exists from DEFAULT_ADMIN_*).
func setup(ctx context.Context, a *api, adminEmail, adminPasswd string) (*session, error) {
	s := &session{api: a, email: "chaos@example.com", passwd: "chaos-password-1"}
	call := func(r req, want int) ([]byte, error) {
		status, body, kind := a.do(ctx, 0, r)
		if status != want {
			return nil, fmt.Errorf("%s %s: status %d %s: %.300s", r.method, r.path, status, kindNames[kind], body)
		}
		return body, nil
	}
	var err error
	if s.adminToken, err = login(ctx, a, 0, adminEmail, adminPasswd); err != nil {
		return nil, err
	}
	if _, err = call(req{method: "POST", path: "/api/v1/auth/register", ctype: "application/json",
		body: jsonBody(map[string]string{"email": s.email, "password": s.passwd, "full_name": "Chaos"})}, 200); err != nil {
		return nil, err
	}
	if s.userToken, err = login(ctx, a, 0, s.email, s.passwd); err != nil {
		return nil, err
	}
	ddl := ""
	for _, t := range []string{chaosTable, stepsTable} {
		ddl += fmt.Sprintf(`CREATE TABLE %[1]s (id bigserial PRIMARY KEY, token text NOT NULL, worker int NOT NULL,
  note text, created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON %[1]s (worker);
INSERT INTO %[1]s (token, worker, note) SELECT 'seed-' || i, i %% 8, 'seed row' FROM generate_series(1, 1000) AS i;
`, t)
	}
	body, err := call(req{method: "POST", path: "/api/v1/sql/query", token: s.adminToken, ctype: "application/json",
		body: jsonBody(map[string]any{"query": ddl})}, 200)
	if err != nil {
		return nil, err
	}
	if !sqlSucceeded(body) {
		return nil, fmt.Errorf("creating the tables: %.300s", body)
	}
	body, err = call(req{method: "POST", path: "/api/v1/buckets", token: s.userToken, ctype: "application/json",
		body: jsonBody(map[string]any{"name": "chaos-files", "is_public": false})}, 201)
	if err != nil {
		return nil, err
	}
	var b struct{ ID string }
	if err := json.Unmarshal(body, &b); err != nil || b.ID == "" {
		return nil, fmt.Errorf("bucket: %.300s", body)
	}
	s.bucketID = b.ID
	// The step test's file, uploaded with the fault run's own steps.
	w := newWorker(s, -1, 0)
	s.fileBytes = []byte("chaos step-test file\n")
	id, url, ok := w.uploadAndLocate(ctx, "step.txt", s.fileBytes)
	if !ok {
		return nil, fmt.Errorf("uploading the step test's file failed: %+v", w.samples)
	}
	s.fileID, s.fileURL = id, url
	return s, nil
}

func login(ctx context.Context, a *api, inst int, email, passwd string) (string, error) {
	status, body, _ := a.do(ctx, inst, req{method: "POST", path: "/api/v1/auth/login", ctype: "application/json",
		body: jsonBody(map[string]string{"email": email, "password": passwd})})
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if status != 200 || json.Unmarshal(body, &t) != nil || t.AccessToken == "" {
		return "", fmt.Errorf("login %s: status %d: %.300s", email, status, body)
	}
	return t.AccessToken, nil
}

func sqlSucceeded(body []byte) bool {
	var r struct {
		Success bool `json:"success"`
	}
	return json.Unmarshal(body, &r) == nil && r.Success
}

// insertAttempt is one insert of the fault run: its client token (a column
// of the row), and the id the server acknowledged (acked: a 2xx with it).
type insertAttempt struct {
	token string
	id    int64
	acked bool
}

// worker is one load client: its own user token (renewed by its logins),
// random source and records.
type worker struct {
	recorder
	s       *session
	id, seq int
	token   string
	rng     *rand.Rand
	inserts []insertAttempt
}

func newWorker(s *session, id int, seed uint64) *worker {
	return &worker{recorder: recorder{api: s.api}, s: s, id: id, token: s.userToken,
		rng: rand.New(rand.NewPCG(seed, uint64(id)+1))}
}

// insert adds one row with a unique token and keeps the acknowledgement.
func (w *worker) insert(ctx context.Context, table string) {
	w.seq++
	tok := fmt.Sprintf("r%d-%d", w.id, w.seq)
	var id int64
	_, _, ok := w.call(ctx, gInsert, req{method: "POST", path: "/api/v1/tables/" + table + "/data", token: w.token,
		ctype: "application/json", body: jsonBody(map[string]any{"token": tok, "worker": w.id, "note": "chaos"})},
		func(b []byte) bool {
			var row struct {
				ID    json.Number `json:"id"`
				Token string      `json:"token"`
			}
			if json.Unmarshal(b, &row) != nil || row.Token != tok {
				return false
			}
			n, err := strconv.ParseInt(row.ID.String(), 10, 64)
			id = n
			return err == nil
		})
	if table == chaosTable {
		w.inserts = append(w.inserts, insertAttempt{token: tok, id: id, acked: ok})
	}
}

// read asks for a page of the table: the newest rows, or one worker's.
func (w *worker) read(ctx context.Context, table string) {
	path := "/api/v1/tables/" + table + "/data?page_size=20&order_by=id:desc"
	if w.rng.IntN(2) == 0 {
		path = fmt.Sprintf("/api/v1/tables/%s/data?page_size=20&worker=eq.%d", table, w.rng.IntN(8))
	}
	w.call(ctx, gRead, req{method: "GET", path: path, token: w.token}, nil)
}

func (w *worker) me(ctx context.Context) {
	w.call(ctx, gMe, req{method: "GET", path: "/api/v1/users/me", token: w.token}, nil)
}

// login signs the plain user in again; the worker goes on with the new token.
func (w *worker) login(ctx context.Context) {
	var tok string
	w.call(ctx, gLogin, req{method: "POST", path: "/api/v1/auth/login", ctype: "application/json",
		body: jsonBody(map[string]string{"email": w.s.email, "password": w.s.passwd})},
		func(b []byte) bool {
			var t struct {
				AccessToken string `json:"access_token"`
			}
			if json.Unmarshal(b, &t) != nil || t.AccessToken == "" {
				return false
			}
			tok = t.AccessToken
			return true
		})
	if tok != "" {
		w.token = tok
	}
}

// sql runs a read-only count through the SQL console as the admin.
func (w *worker) sql(ctx context.Context, table string) {
	w.call(ctx, gSQL, req{method: "POST", path: "/api/v1/sql/query", token: w.s.adminToken, ctype: "application/json",
		body: jsonBody(map[string]any{"query": "SELECT count(*) AS n FROM " + table, "read_only": true})}, sqlSucceeded)
}

// files uploads a small file (initiate, then PUT to the signed URL on the
// other instance), asks for its download URL and downloads it, checking the
// bytes. Each request is a sample of group files.
func (w *worker) files(ctx context.Context) {
	w.seq++
	content := fmt.Appendf(nil, "chaos %d-%d %x\n", w.id, w.seq, w.rng.Uint64())
	content = bytes.Repeat(content, 1+w.rng.IntN(64))
	_, url, ok := w.uploadAndLocate(ctx, fmt.Sprintf("w%d-%d.txt", w.id, w.seq), content)
	if !ok {
		return
	}
	w.call(ctx, gFiles, req{method: "GET", path: url, noKey: true}, func(b []byte) bool { return bytes.Equal(b, content) })
}

// uploadAndLocate stores content as a new file of the session's bucket and
// returns its id and signed download URL.
func (w *worker) uploadAndLocate(ctx context.Context, name string, content []byte) (id, url string, ok bool) {
	var init struct {
		File struct {
			ID string `json:"id"`
		} `json:"file_metadata"`
		Upload struct {
			URL string `json:"upload_url"`
		} `json:"presigned_upload_info"`
	}
	_, _, ok = w.call(ctx, gFiles, req{method: "POST", path: "/api/v1/files/initiate-upload", token: w.token,
		ctype: "application/json", body: jsonBody(map[string]any{"filename": name, "content_type": "text/plain",
			"size": len(content), "bucket_id": w.s.bucketID})},
		func(b []byte) bool { return json.Unmarshal(b, &init) == nil && init.Upload.URL != "" })
	if !ok {
		return "", "", false
	}
	if _, _, ok = w.call(ctx, gFiles, req{method: "PUT", path: init.Upload.URL, body: content, ctype: "text/plain", noKey: true}, nil); !ok {
		return "", "", false
	}
	var info struct {
		URL string `json:"download_url"`
	}
	if _, _, ok = w.call(ctx, gFiles, req{method: "GET", path: "/api/v1/files/" + init.File.ID + "/download-info", token: w.token},
		func(b []byte) bool { return json.Unmarshal(b, &info) == nil && info.URL != "" }); !ok {
		return "", "", false
	}
	return init.File.ID, info.URL, true
}

// opWeights is the fault run's mix (per hundred operations).
var opWeights = []struct {
	weight int
	run    func(w *worker, ctx context.Context)
}{
	{30, func(w *worker, ctx context.Context) { w.insert(ctx, chaosTable) }},
	{27, func(w *worker, ctx context.Context) { w.read(ctx, chaosTable) }},
	{25, func(w *worker, ctx context.Context) { w.me(ctx) }},
	{10, func(w *worker, ctx context.Context) { w.files(ctx) }},
	{5, func(w *worker, ctx context.Context) { w.sql(ctx, chaosTable) }},
	{3, func(w *worker, ctx context.Context) { w.login(ctx) }},
}

// step runs one random operation of the mix.
func (w *worker) step(ctx context.Context) {
	n := w.rng.IntN(100)
	for _, o := range opWeights {
		if n < o.weight {
			o.run(w, ctx)
			return
		}
		n -= o.weight
	}
}

package importpython

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/uptrace/bun"
)

// Kinds of imported objects (selfdb.import_python_objects.kind).
const (
	kindUser     = "user"
	kindToken    = "refresh_token"
	kindBucket   = "bucket"
	kindFile     = "file"
	kindSnippet  = "snippet"
	kindTable    = "table"
	kindSequence = "sequence"
	kindType     = "type"
	kindFunction = "function"
	kindVersion  = "function_version"
	kindEnv      = "function_env"
)

// state is what earlier runs imported, and what this run changes about it.
type state struct {
	recorded map[string]map[string]bool
	added    map[string][]string
	dropped  map[string][]string
	position int64 // change-log position the last run left (0: none)
	since    int64 // xmin of the source snapshot the last run read (0: unknown)
	runs     int
}

func (s *state) has(kind, id string) bool { return s.recorded[kind][id] }

// add records an object this run created.
func (s *state) add(kind, id string) {
	if s.has(kind, id) {
		return
	}
	if s.recorded[kind] == nil {
		s.recorded[kind] = map[string]bool{}
	}
	s.recorded[kind][id] = true
	s.added[kind] = append(s.added[kind], id)
}

// forget drops the record of an object gone from both sides.
func (s *state) forget(kind, id string) {
	if !s.has(kind, id) {
		return
	}
	delete(s.recorded[kind], id)
	s.dropped[kind] = append(s.dropped[kind], id)
}

// ids lists the recorded objects of a kind, sorted.
func (s *state) ids(kind string) []string { return sortedKeys(s.recorded[kind]) }

// loadState reads the bookkeeping.
func loadState(ctx context.Context, conn bun.Conn) (*state, error) {
	s := &state{recorded: map[string]map[string]bool{}, added: map[string][]string{}, dropped: map[string][]string{}}
	err := queryEach(ctx, conn, `SELECT kind, source_id FROM selfdb.import_python_objects`, func(rs *sql.Rows) error {
		var k, id string
		if err := rs.Scan(&k, &id); err != nil {
			return err
		}
		if s.recorded[k] == nil {
			s.recorded[k] = map[string]bool{}
		}
		s.recorded[k][id] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = conn.Conn.QueryRowContext(ctx, `SELECT count(*),
  coalesce((SELECT change_log_position FROM selfdb.import_python_runs ORDER BY id DESC LIMIT 1), 0),
  coalesce((SELECT source_xmin FROM selfdb.import_python_runs ORDER BY id DESC LIMIT 1), 0)
FROM selfdb.import_python_runs`).Scan(&s.runs, &s.position, &s.since)
	return s, err
}

// save writes the records this run changed.
func (s *state) save(ctx context.Context, conn bun.Conn) error {
	for _, k := range sortedKeys(s.added) {
		ids := s.added[k]
		for len(ids) > 0 {
			n := min(len(ids), 5000)
			if _, err := conn.Conn.ExecContext(ctx, `INSERT INTO selfdb.import_python_objects (kind, source_id)
SELECT `+lit(k)+`, unnest(`+arrayLit(ids[:n])+`) ON CONFLICT DO NOTHING`); err != nil {
				return err
			}
			ids = ids[n:]
		}
	}
	for _, k := range sortedKeys(s.dropped) {
		ids := s.dropped[k]
		for len(ids) > 0 {
			n := min(len(ids), 5000)
			if _, err := conn.Conn.ExecContext(ctx, `DELETE FROM selfdb.import_python_objects WHERE kind = `+lit(k)+
				` AND source_id = ANY(`+arrayLit(ids[:n])+`)`); err != nil {
				return err
			}
			ids = ids[n:]
		}
	}
	return nil
}

// recordRun notes the run, the change-log position it leaves and the
// source snapshot it read.
func recordRun(ctx context.Context, conn bun.Conn, source string, started string, sourceXmin int64, summary map[string]any) error {
	b, err := json.Marshal(summary)
	if err != nil {
		return err
	}
	_, err = conn.Conn.ExecContext(ctx, fmt.Sprintf(`INSERT INTO selfdb.import_python_runs (source, started_at, change_log_position, source_xmin, summary)
VALUES (%s, %s, (SELECT coalesce(max(id), 0) FROM selfdb.change_log), %d, %s)`, lit(source), lit(started), sourceXmin, lit(string(b))))
	return err
}

// goSideWrites lists what the Go server wrote to imported objects since the
// last run (the change log holds every write to user tables and to
// SelfDB's users, buckets, files, functions and env vars; the import's own
// writes to user tables bypass it, and its other writes come before the
// position it records). An update of SelfDB's own rows counts only when it
// changed a column the import writes: the server's bookkeeping (a runtime
// analyzing a function's triggers) is not a user's write.
func goSideWrites(ctx context.Context, conn bun.Conn, since int64) ([]string, map[string]bool, error) {
	var out []string
	tables := map[string]bool{}
	err := queryEach(ctx, conn, fmt.Sprintf(`SELECT l.table_name, count(*) FROM selfdb.change_log l
WHERE l.id > %d AND l.op IN ('INSERT', 'UPDATE', 'DELETE') AND EXISTS (SELECT 1 FROM selfdb.import_python_objects o
  WHERE (o.kind = 'table' AND o.source_id = l.table_name)
     OR (o.kind = CASE l.table_name WHEN 'selfdb.users' THEN 'user' WHEN 'selfdb.buckets' THEN 'bucket' WHEN 'selfdb.files' THEN 'file'
                   WHEN 'selfdb.functions' THEN 'function' WHEN 'selfdb.function_env' THEN 'function_env' END
         AND o.source_id = coalesce(l.row ->> 'id', l.old_row ->> 'id')))
  AND (l.op <> 'UPDATE' OR l.table_name NOT LIKE 'selfdb.%%' OR EXISTS (SELECT 1 FROM unnest(CASE l.table_name
      WHEN 'selfdb.users' THEN ARRAY['email', 'is_active', 'is_superuser', 'updated_at']
      WHEN 'selfdb.buckets' THEN ARRAY['name', 'description', 'is_public', 'owner_id', 'updated_at']
      WHEN 'selfdb.files' THEN ARRAY['bucket_id', 'object_name', 'filename', 'content_type', 'size', 'checksum_sha256', 'status', 'owner_id', 'updated_at']
      WHEN 'selfdb.functions' THEN ARRAY['name', 'description', 'code', 'is_active', 'owner_id', 'version_number']
      WHEN 'selfdb.function_env' THEN ARRAY['key', 'is_secret', 'updated_at'] END) c
    WHERE (l.row::jsonb -> c) IS DISTINCT FROM (l.old_row::jsonb -> c)))
GROUP BY 1 ORDER BY 1`, since), func(rs *sql.Rows) error {
		var t string
		var n int
		if err := rs.Scan(&t, &n); err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s (%d writes)", t, n))
		if !strings.HasPrefix(t, "selfdb.") {
			tables[t] = true
		}
		return nil
	})
	return out, tables, err
}

// problem is input the import refuses, found before any write.
type problem struct{ msg string }

func (p *problem) Error() string { return p.msg }

// problems collects every refusal of a run, so that one run names them all.
type problems struct{ list []string }

func (p *problems) add(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

// err is nil without problems, else one error listing them (at most 20).
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	sort.Strings(p.list)
	list := p.list
	more := ""
	if len(list) > 20 {
		more = fmt.Sprintf("\n  ... and %d more", len(list)-20)
		list = list[:20]
	}
	return &problem{fmt.Sprintf("nothing was imported; the target or the source needs attention first:\n  - %s%s",
		strings.Join(list, "\n  - "), more)}
}

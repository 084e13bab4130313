package sqlconsole

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/events"
	"github.com/selfdb/selfdb/platform/identity"
)

// Policies is what the console needs from modules/tables, which owns
// selfdb.table_policies: keeping the policies in step with the tables a run
// renamed or dropped, in the run's transaction (bound to *tables.Service).
type Policies interface {
	SyncPolicies(ctx context.Context, conn *sql.Conn) error
}

// Service runs console scripts and keeps snippets and history. Every method
// is for superusers (the routes guard it).
type Service struct {
	pool   *Pool
	repo   *Repository
	events *events.Log
	bus    *events.Bus
	runner runner
	log    *zap.Logger
}

// NewService builds the service from the SQL_* settings; console runs use
// pool, never the API's.
func NewService(pool *Pool, repo *Repository, policies Policies, log *events.Log, bus *events.Bus, cfg *config.Config, logger *zap.Logger) (*Service, error) {
	if cfg.SQLStatementTimeout <= 0 {
		return nil, fmt.Errorf("config: SQL_STATEMENT_TIMEOUT: must be positive")
	}
	if cfg.SQLRowCap <= 0 {
		return nil, fmt.Errorf("config: SQL_ROW_CAP: must be positive")
	}
	return &Service{pool: pool, repo: repo, events: log, bus: bus, log: logger.Named("sqlconsole"),
		runner: runner{timeout: cfg.SQLStatementTimeout, rowCap: cfg.SQLRowCap, policies: policies}}, nil
}

// paramValue turns a JSON parameter into a driver value (text for numbers,
// so that Postgres parses them as the inferred type).
func paramValue(raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, fmt.Errorf("empty parameter")
	}
	switch raw[0] {
	case 'n':
		return nil, nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return s, nil
	case '{', '[':
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, err
		}
		return buf.String(), nil
	}
	return string(raw), nil
}

// Run executes a script in one transaction and records it in the caller's
// history. SQL errors come back as Success false; after a run that wrote
// anything it waits (briefly) until this process has heard the run's
// changes in the change log.
func (s *Service) Run(ctx context.Context, p *identity.Principal, in QueryIn) (*RunResult, error) {
	stmts := Split(in.Query)
	if len(stmts) == 0 {
		return nil, apperr.Validation(apperr.Field("body", "query", "The query has no statement", "value_error"))
	}
	var args []any
	if len(in.Params) > 0 {
		if len(stmts) != 1 {
			return nil, apperr.Validation(apperr.Field("body", "params", "params are only accepted for a single statement", "value_error"))
		}
		for i, raw := range in.Params {
			v, err := paramValue(raw)
			if err != nil {
				return nil, apperr.Validation(apperr.Field("body", "params", fmt.Sprintf("parameter %d is not a JSON value", i+1), "value_error"))
			}
			args = append(args, v)
		}
	}
	// The console's own limits bound a run (DB_ACQUIRE_TIMEOUT for its
	// connection, SQL_STATEMENT_TIMEOUT per statement, DB_READ_TIMEOUT per
	// round trip), not the API request's database deadline.
	ctx = context.WithoutCancel(ctx)
	conn, err := s.pool.Conn(ctx)
	if err != nil {
		return nil, err
	}
	res, err := s.runner.run(ctx, conn.Conn, stmts, args, in.ReadOnly)
	if err != nil {
		// The connection broke.
		Drop(conn)
		return nil, db.Err(err)
	}
	if res.wrote {
		// What this process caches from events (table metadata, users)
		// then reflects the run: the caller's next request sees it.
		if err := events.Sync(ctx, s.events, s.bus, 2*time.Second); err != nil {
			s.log.Warn("sqlconsole: change log not caught up after a run", zap.Error(err))
		}
	}
	h := &HistoryEntry{UserID: p.ID, Query: in.Query, IsReadOnly: res.IsReadOnly || in.ReadOnly, ExecutionTime: res.TotalExecutionTime,
		AwaitingEcho: true}
	if res.Success {
		n := res.TotalRowsAffected
		h.RowCount = &n
	} else {
		e := res.Error
		h.Error = &e
	}
	s.record(ctx, conn, h)
	return res, nil
}

// record resets the run's connection and writes h on it (a clean session:
// the script may have made it read-only, or its statements time out), or on
// a fresh connection of the console's pool when the reset dropped it. The
// connection goes back to the pool either way.
func (s *Service) record(ctx context.Context, conn bun.Conn, h *HistoryEntry) {
	if !s.pool.Reset(ctx, conn) {
		var err error
		if conn, err = s.pool.Conn(ctx); err != nil {
			s.log.Warn("sqlconsole: history not recorded", zap.Error(err))
			return
		}
	}
	defer conn.Close()
	if err := s.repo.On(conn).AddHistory(ctx, h); err != nil {
		s.log.Warn("sqlconsole: history not recorded", zap.Error(err))
	}
}

// Snippets lists the caller's own and all shared snippets.
func (s *Service) Snippets(ctx context.Context, p *identity.Principal) ([]Snippet, error) {
	return s.repo.Snippets(ctx, p.ID)
}

// AddSnippet saves a snippet for the caller.
func (s *Service) AddSnippet(ctx context.Context, p *identity.Principal, in SnippetIn) (*Snippet, error) {
	var fields []apperr.FieldError
	if strings.TrimSpace(in.Name) == "" {
		fields = append(fields, apperr.Field("body", "name", "Field required", "missing"))
	}
	if strings.TrimSpace(in.SQLCode) == "" {
		fields = append(fields, apperr.Field("body", "sql_code", "Field required", "missing"))
	}
	if len(fields) > 0 {
		return nil, apperr.Validation(fields...)
	}
	sn := &Snippet{Name: in.Name, SQLCode: in.SQLCode, Description: in.Description, IsShared: in.IsShared, UserID: p.ID}
	if err := s.repo.AddSnippet(ctx, sn); err != nil {
		return nil, err
	}
	return sn, nil
}

// UpdateSnippet changes a snippet of the caller. Errors: snippet_not_found.
func (s *Service) UpdateSnippet(ctx context.Context, p *identity.Principal, id uuid.UUID, in SnippetPatch) (*Snippet, error) {
	sn, err := s.repo.OwnSnippet(ctx, id, p.ID)
	if err != nil {
		return nil, err
	}
	if sn == nil {
		return nil, ErrSnippetNotFound
	}
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			return nil, apperr.Validation(apperr.Field("body", "name", "Name must not be empty", "value_error"))
		}
		sn.Name = *in.Name
	}
	if in.SQLCode != nil {
		sn.SQLCode = *in.SQLCode
	}
	if in.Description != nil {
		sn.Description = in.Description
	}
	if in.IsShared != nil {
		sn.IsShared = *in.IsShared
	}
	if err := s.repo.SaveSnippet(ctx, sn); err != nil {
		return nil, err
	}
	return sn, nil
}

// DeleteSnippet deletes a snippet of the caller and returns it.
func (s *Service) DeleteSnippet(ctx context.Context, p *identity.Principal, id uuid.UUID) (*Snippet, error) {
	sn, err := s.repo.OwnSnippet(ctx, id, p.ID)
	if err != nil {
		return nil, err
	}
	if sn == nil {
		return nil, ErrSnippetNotFoundDelete
	}
	return sn, s.repo.DeleteSnippet(ctx, id)
}

// History returns a page of the caller's history.
func (s *Service) History(ctx context.Context, p *identity.Principal, page, size int) (*HistoryPage, error) {
	rows, n, err := s.repo.History(ctx, p.ID, size, (page-1)*size)
	if err != nil {
		return nil, err
	}
	return &HistoryPage{History: rows, Metadata: HistoryMetadata{TotalCount: n, Page: page, PageSize: size, TotalPages: (n + size - 1) / size}}, nil
}

// echoWindow is how long after a run the server recorded a client's report
// of the same run is taken for it.
const echoWindow = time.Minute

// AddHistory records a run reported by a client. Clients that run queries
// through /sql/query and then report them (the original admin UI) would
// list every run twice, since Run records it too: a report matching a run
// the server recorded for the same user within the last minute (same query
// text, ignoring surrounding white space; same outcome, failed or not) and
// not matched before returns that entry, with the server's own timing and
// counts, instead of adding a twin.
func (s *Service) AddHistory(ctx context.Context, p *identity.Principal, in HistoryIn) (*HistoryEntry, error) {
	if strings.TrimSpace(in.Query) == "" {
		return nil, apperr.Validation(apperr.Field("body", "query", "Field required", "missing"))
	}
	if in.ExecutionTime == nil {
		return nil, apperr.Validation(apperr.Field("body", "execution_time", "Field required", "missing"))
	}
	failed := in.Error != nil && *in.Error != ""
	if twin, err := s.repo.ClaimEcho(ctx, p.ID, in.Query, failed, echoWindow); err != nil || twin != nil {
		return twin, err
	}
	h := &HistoryEntry{UserID: p.ID, Query: in.Query, IsReadOnly: in.IsReadOnly, ExecutionTime: *in.ExecutionTime,
		RowCount: in.RowCount, Error: in.Error, ExecutedAt: time.Now()}
	if err := s.repo.AddHistory(ctx, h); err != nil {
		return nil, err
	}
	return h, nil
}

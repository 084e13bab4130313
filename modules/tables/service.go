package tables

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/events"
	"github.com/selfdb/selfdb/platform/identity"
)

// Metadata (columns, keys, policy) is kept in process per table name,
// dropped on every instance by the change log's schema.changed and
// policy.changed events (a DDL event trigger reports DDL from any client).
// localMetaAge bounds how long a copy is trusted anyway (a database without
// event triggers reports no plain-SQL DDL), localMetaMax how many are kept.
const (
	localMetaAge = 30 * time.Second
	localMetaMax = 4096
)

// Service holds the tables rules: policies, metadata cache, row and DDL
// operations. Callers pass the request's principal.
type Service struct {
	repo    *Repository
	bus     *events.Bus
	log     *zap.Logger
	cursors *Cursors

	localMu sync.RWMutex
	gen     uint64
	local   map[string]localMeta
}

type localMeta struct {
	meta *Meta
	at   time.Time
}

// NewService builds the service. Its metadata copies are dropped by a bus
// handler when the change log reports a schema or policy change, on every
// instance.
func NewService(repo *Repository, bus *events.Bus, log *zap.Logger, cursors *Cursors) *Service {
	s := &Service{repo: repo, bus: bus, log: log.Named("tables"), cursors: cursors, local: map[string]localMeta{}}
	bus.Handle(events.Of(events.TopicSchemaChanged, events.TopicPolicyChanged), func(e *events.Event) {
		if e.Topic() == events.TopicSchemaChanged {
			s.forget("")
			return
		}
		s.forget(policyTable(e))
	})
	return s
}

// forget drops the cached metadata of one table, or of all ("").
func (s *Service) forget(name string) {
	s.localMu.Lock()
	s.gen++
	if name == "" {
		clear(s.local)
	} else {
		delete(s.local, name)
	}
	s.localMu.Unlock()
}

// meta returns a user table's metadata and policy (cached), or 404.
func (s *Service) meta(ctx context.Context, name string) (*Meta, error) {
	if !ValidIdent(name) {
		return nil, ErrInvalidIdentifier.WithMessage("Invalid table name '%s'", name)
	}
	// Without the event stream a copy could be stale: read Postgres.
	trusted := s.bus.Live()
	now := time.Now()
	s.localMu.RLock()
	l, hit := s.local[name]
	gen := s.gen
	s.localMu.RUnlock()
	if trusted && hit && now.Sub(l.at) < localMetaAge {
		return l.meta, nil
	}
	m, err := s.repo.LoadMeta(ctx, name)
	if err == nil && m == nil {
		err = errTableNotFound(name)
	}
	if err != nil || !trusted {
		return m, err
	}
	s.localMu.Lock()
	// A change heard while loading may have made m stale: keep nothing.
	if s.gen == gen {
		if len(s.local) >= localMetaMax {
			clear(s.local)
		}
		s.local[name] = localMeta{meta: m, at: now}
	}
	s.localMu.Unlock()
	return m, nil
}

// policyTable names the table of a policy.changed event ("" = all).
func policyTable(e *events.Event) string {
	var r struct {
		Table string `json:"table_name"`
	}
	for _, raw := range []json.RawMessage{e.Row, e.OldRow} {
		if json.Unmarshal(raw, &r) == nil && r.Table != "" {
			return r.Table
		}
	}
	return ""
}

// permitted loads a table's metadata and checks p against the level op
// picks from its policy; it returns the metadata and authorize's owner
// restriction.
func (s *Service) permitted(ctx context.Context, p *identity.Principal, name string, op func(Policy) Level) (*Meta, *string, error) {
	m, err := s.meta(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	owner, err := authorize(p, op(m.Policy), m)
	if err != nil {
		return nil, nil, err
	}
	return m, owner, nil
}

// The operations' levels, for permitted.
func readLevel(p Policy) Level   { return p.Read }
func insertLevel(p Policy) Level { return p.Insert }
func updateLevel(p Policy) Level { return p.Update }
func deleteLevel(p Policy) Level { return p.Delete }

// authorize checks level for p. It returns the caller id rows must be
// restricted to (owner level), or nil for no restriction.
func authorize(p *identity.Principal, level Level, m *Meta) (*string, error) {
	r := Rule{Level: level}
	if oc := m.ownerColumn(); oc != nil {
		r.OwnerColumn = oc.Name
	}
	return r.Check(p)
}

// canRead reports whether p may see a table with policy pol at all.
func canRead(p *identity.Principal, pol Policy) bool {
	r := Rule{Level: pol.Read}
	if pol.OwnerColumn != nil {
		r.OwnerColumn = *pol.OwnerColumn
	}
	_, err := r.Check(p)
	return err == nil
}

// Rule is the access rule of one operation on a table: its level and, for
// the owner level, the owner column ("" when the table has none).
type Rule struct {
	Level       Level
	OwnerColumn string
}

// Check is the policy check of every table route and of realtime. It
// returns nil, nil when p may touch every row; the id p's rows must carry in
// the owner column when only those; or not_authenticated /
// not_enough_privileges. It reads nothing: callers evaluate it in memory.
func (r Rule) Check(p *identity.Principal) (owner *string, err error) {
	if p.IsSuperuser() {
		return nil, nil
	}
	switch r.Level {
	case LevelPublic:
		return nil, nil
	case LevelAuthenticated:
		if p.IsAnon() {
			return nil, identity.ErrNotAuthenticated
		}
		return nil, nil
	case LevelOwner:
		if p.IsAnon() {
			return nil, identity.ErrNotAuthenticated
		}
		if r.OwnerColumn == "" {
			return nil, identity.ErrNotEnoughPrivileges
		}
		id := p.ID.String()
		return &id, nil
	}
	if p.IsAnon() {
		return nil, identity.ErrNotAuthenticated
	}
	return nil, identity.ErrNotEnoughPrivileges
}

// ReadRule returns the read rule of a user table, from the metadata cache
// (kept current on every instance by the change log). Realtime checks each
// subscriber and row with it. Errors: invalid_identifier, table_not_found.
func (s *Service) ReadRule(ctx context.Context, table string) (Rule, error) {
	m, err := s.meta(ctx, table)
	if err != nil {
		return Rule{}, err
	}
	r := Rule{Level: m.Policy.Read}
	if oc := m.ownerColumn(); oc != nil {
		r.OwnerColumn = oc.Name
	}
	return r, nil
}

// List returns the tables p can read, by name. Anyone may call it.
func (s *Service) List(ctx context.Context, p *identity.Principal) ([]TableSummary, error) {
	all, err := s.repo.List(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, t := range all {
		if canRead(p, t.Access) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Get returns a table's description for readers. Errors: table_not_found,
// not_authenticated, not_enough_privileges.
func (s *Service) Get(ctx context.Context, p *identity.Principal, name string) (*TableDetail, error) {
	m, owner, err := s.permitted(ctx, p, name, readLevel)
	if err != nil {
		return nil, err
	}
	var n int64
	var est bool
	if owner != nil {
		// An owner-level reader counts only their own rows.
		cond, err := ownerCond(m, owner)
		if err != nil {
			return nil, err
		}
		n, err = s.repo.Count(ctx, m, cond)
		if err != nil {
			return nil, err
		}
	} else if n, est, err = s.repo.RowCount(ctx, m); err != nil {
		return nil, err
	}
	return &TableDetail{Name: m.Name, Description: m.Description, Columns: columnsOut(m.Columns),
		PrimaryKeys: nonNil(m.PrimaryKeys), ForeignKeys: nonNilFK(m.ForeignKeys), Indexes: nonNilIdx(m.Indexes),
		RowCount: n, RowCountEstimated: est, Access: m.Policy, OwnerColumn: m.Policy.OwnerColumn}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilFK(s []ForeignKey) []ForeignKey {
	if s == nil {
		return []ForeignKey{}
	}
	return s
}

func nonNilIdx(s []Index) []Index {
	if s == nil {
		return []Index{}
	}
	return s
}

// Structure returns a table's columns for readers.
func (s *Service) Structure(ctx context.Context, p *identity.Principal, name string) ([]ColumnOut, error) {
	m, _, err := s.permitted(ctx, p, name, readLevel)
	if err != nil {
		return nil, err
	}
	return columnsOut(m.Columns), nil
}

// Data returns a page of rows under the read policy (owner level: only the
// caller's rows, filtered in SQL), by page number or after a cursor, with
// next_cursor when rows follow. Errors: table_not_found, unknown_column,
// invalid_filter, invalid_value, invalid_cursor, not_authenticated,
// not_enough_privileges.
func (s *Service) Data(ctx context.Context, p *identity.Principal, name string, lp ListParams) (*DataPage, error) {
	m, owner, err := s.permitted(ctx, p, name, readLevel)
	if err != nil {
		return nil, err
	}
	pl, err := planList(m, lp, owner)
	if err != nil {
		return nil, err
	}
	// offset: the rows before this page (a cursor's page starts at its key).
	offset := int64(lp.Page-1) * int64(lp.PageSize)
	sqlOffset, after := int(offset), []string(nil)
	if lp.Cursor != "" {
		if after, offset, err = s.openCursor(pl, lp); err != nil {
			return nil, err
		}
		sqlOffset = 0
	}
	var estimate int64
	if pl.needsEstimate(lp.Count) {
		if estimate, err = s.repo.Estimate(ctx, pl.estimateSQL()); err != nil {
			return nil, err
		}
	}
	total, rows, last, err := s.repo.Page(ctx, pl.pageSQL(pl.countSQL(lp.Count, estimate), after, lp.PageSize, sqlOffset))
	if err != nil {
		return nil, err
	}
	var key []*string
	if pl.keyInRows() {
		if rows, key, err = pl.cutRows(rows, lp.PageSize); err != nil {
			return nil, err
		}
	} else if last.Valid {
		if err := json.Unmarshal([]byte(last.String), &key); err != nil {
			return nil, err
		}
	}
	meta := DataMetadata{Page: int(offset/int64(lp.PageSize)) + 1, PageSize: lp.PageSize, Columns: make([]DataColumn, len(pl.cols))}
	if total.Valid {
		pages := (total.Int64 + int64(lp.PageSize) - 1) / int64(lp.PageSize)
		meta.TotalCount, meta.TotalPages = &total.Int64, &pages
	}
	for i, c := range pl.cols {
		meta.Columns[i] = DataColumn{Name: c.Name, DataType: c.DataType, IsNullable: c.IsNullable}
	}
	if key != nil {
		if meta.NextCursor, err = s.cursors.seal(pl, offset+int64(lp.PageSize), key); err != nil {
			return nil, err
		}
	}
	return &DataPage{Data: json.RawMessage(rows), Metadata: meta}, nil
}

// openCursor checks lp's cursor against pl and returns the condition of
// the rows after it and how many rows preceded its page.
func (s *Service) openCursor(pl *listPlan, lp ListParams) (after []string, offset int64, err error) {
	if lp.PageSet {
		return nil, 0, ErrInvalidCursor.WithMessage("Use either page or cursor, not both")
	}
	if !pl.keyed {
		return nil, 0, ErrInvalidCursor.WithMessage("Table '%s' has no primary key: page through it with page and page_size", pl.m.Name)
	}
	st, err := s.cursors.open(lp.Cursor, pl)
	if err != nil {
		return nil, 0, err
	}
	after, err = pl.afterSQL(st.Keys)
	return after, st.Offset, err
}

// Insert adds rows under the insert policy, all or nothing, and returns them
// as a JSON array. The owner column is set to the caller's id (a client value
// is overridden; a superuser's own value is kept; anon inserts get NULL).
func (s *Service) Insert(ctx context.Context, p *identity.Principal, name string, rows []map[string]json.RawMessage) (json.RawMessage, error) {
	m, _, err := s.permitted(ctx, p, name, insertLevel)
	if err != nil {
		return nil, err
	}
	if oc := m.ownerColumn(); oc != nil {
		for _, r := range rows {
			switch {
			case p.IsAnon():
				r[oc.Name] = json.RawMessage("null")
			case p.IsSuperuser():
				if _, ok := r[oc.Name]; !ok {
					r[oc.Name] = json.RawMessage(strconv.Quote(p.ID.String()))
				}
			default:
				r[oc.Name] = json.RawMessage(strconv.Quote(p.ID.String()))
			}
		}
	}
	q, err := buildInsert(m, rows)
	if err != nil {
		return nil, err
	}
	out, err := s.repo.Rows(ctx, q)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(out), nil
}

// UpdateRow changes the row idCol = id under the update policy and returns
// it. Non-superusers cannot change the owner column. Errors: row_not_found.
func (s *Service) UpdateRow(ctx context.Context, p *identity.Principal, name, idCol, id string, values map[string]json.RawMessage) (json.RawMessage, error) {
	m, owner, err := s.permitted(ctx, p, name, updateLevel)
	if err != nil {
		return nil, err
	}
	if oc := m.ownerColumn(); oc != nil && (p.IsAnon() || !p.IsSuperuser()) {
		delete(values, oc.Name)
	}
	if len(values) == 0 {
		return nil, ErrEmptyBody.WithMessage("No data provided for update")
	}
	q, err := buildUpdate(m, idCol, id, values, owner)
	if err != nil {
		return nil, err
	}
	return s.oneRow(ctx, q, m, idCol, id)
}

// DeleteRow deletes the row idCol = id under the delete policy and returns it.
func (s *Service) DeleteRow(ctx context.Context, p *identity.Principal, name, idCol, id string) (json.RawMessage, error) {
	m, owner, err := s.permitted(ctx, p, name, deleteLevel)
	if err != nil {
		return nil, err
	}
	q, err := buildDelete(m, idCol, id, owner)
	if err != nil {
		return nil, err
	}
	return s.oneRow(ctx, q, m, idCol, id)
}

func (s *Service) oneRow(ctx context.Context, q string, m *Meta, idCol, id string) (json.RawMessage, error) {
	out, err := s.repo.Rows(ctx, q)
	if err != nil {
		return nil, err
	}
	var rows []json.RawMessage
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrRowNotFound.WithMessage("Row with %s='%s' not found in table '%s'", idCol, id, m.Name)
	}
	return rows[0], nil
}

// SyncPolicies keeps the table policies in step with tables renamed or
// dropped in SQL, on conn (inside the caller's transaction): the SQL
// console calls it after a run that wrote, tables being the one writer of
// selfdb.table_policies.
func (s *Service) SyncPolicies(ctx context.Context, conn *sql.Conn) error {
	return s.repo.SyncPolicies(ctx, conn)
}

// CreateSQL renders a table's CREATE TABLE; superusers only (route guard).
func (s *Service) CreateSQL(ctx context.Context, name string) (string, error) {
	m, err := s.meta(ctx, name)
	if err != nil {
		return "", err
	}
	return s.repo.CreateSQL(ctx, m)
}

// ddl runs fn in a transaction and drops this instance's metadata after
// commit, so the caller's next request sees the change (other instances
// hear the DDL event).
func (s *Service) ddl(ctx context.Context, fn func(tx *sql.Tx) error) error {
	err := s.repo.InTx(ctx, fn)
	s.forget("")
	return err
}

// Create makes a table from a checked body, with its policy, in one
// transaction, and returns its effective policy. It reports created=false
// for an existing table with if_not_exists. Errors: invalid_identifier,
// invalid_type, invalid_default, invalid_table, table_exists,
// unknown_column, invalid_policy.
func (s *Service) Create(ctx context.Context, in CreateTableIn) (pol Policy, created bool, err error) {
	plan, err := planCreate(in)
	if err != nil {
		return Policy{}, false, err
	}
	err = s.ddl(ctx, func(tx *sql.Tx) error {
		exists, err := s.repo.Exists(ctx, tx, in.Name)
		if err != nil {
			return err
		}
		if exists {
			if in.IfNotExists {
				return errExistsOK
			}
			return ErrTableExists.WithMessage("Table '%s' already exists", in.Name)
		}
		for _, ref := range plan.Refs {
			ok, err := s.repo.ColumnExists(ctx, tx, ref.Table, ref.Column)
			if err != nil {
				return err
			}
			if !ok {
				return ErrInvalidTable.WithMessage("Foreign key target %s.%s is not a column of a user table", ref.Table, ref.Column)
			}
		}
		if err := s.repo.ExecAll(ctx, tx, plan.Statements); err != nil {
			return err
		}
		// A new table starts from its own policy, not a dropped namesake's.
		return s.repo.SavePolicy(ctx, tx, in.Name, plan.Policy)
	})
	if err == errExistsOK {
		return Policy{}, false, nil
	}
	return plan.Policy.Effective(), err == nil, err
}

// errExistsOK ends an if_not_exists create of an existing table.
var errExistsOK = ErrTableExists.WithMessage("exists")

// Drop deletes a table and its policy. Errors: table_not_found, has_dependents.
func (s *Service) Drop(ctx context.Context, name string) error {
	m, err := s.meta(ctx, name)
	if err != nil {
		return err
	}
	return s.ddl(ctx, func(tx *sql.Tx) error {
		if err := s.repo.ExecAll(ctx, tx, []string{"DROP TABLE " + qualified(m.Name)}); err != nil {
			return err
		}
		return s.repo.DeletePolicy(ctx, tx, m.Name)
	})
}

// AddColumn adds a column. Errors: column_exists, invalid_identifier, invalid_type, invalid_default.
func (s *Service) AddColumn(ctx context.Context, name string, in AddColumnIn) (string, error) {
	m, err := s.meta(ctx, name)
	if err != nil {
		return "", err
	}
	stmts, typ, err := planAddColumn(m.Name, in)
	if err != nil {
		return "", err
	}
	if m.column(in.ColumnName) != nil {
		return "", ErrColumnExists.WithMessage("Column '%s' already exists in table '%s'", in.ColumnName, m.Name)
	}
	return typ, s.ddl(ctx, func(tx *sql.Tx) error { return s.repo.ExecAll(ctx, tx, stmts) })
}

// UpdateColumn alters a column (type, nullability, default, description,
// name). A renamed owner column stays the owner column.
func (s *Service) UpdateColumn(ctx context.Context, name, column string, in UpdateColumnIn) (string, error) {
	m, err := s.meta(ctx, name)
	if err != nil {
		return "", err
	}
	cur := m.column(column)
	if cur == nil {
		return "", errUnknownColumn(column, m.Name)
	}
	stmts, err := planUpdateColumn(m.Name, cur, in)
	if err != nil {
		return "", err
	}
	final := column
	if in.NewName != nil {
		final = *in.NewName
		if final != column && m.column(final) != nil {
			return "", ErrColumnExists.WithMessage("Column '%s' already exists in table '%s'", final, m.Name)
		}
	}
	return final, s.ddl(ctx, func(tx *sql.Tx) error {
		if err := s.repo.ExecAll(ctx, tx, stmts); err != nil {
			return err
		}
		if oc := m.Policy.OwnerColumn; oc != nil && *oc == column && final != column {
			p := m.stored
			p.OwnerColumn = &final
			return s.repo.SavePolicy(ctx, tx, m.Name, p)
		}
		return nil
	})
}

// DropColumn removes a column. Errors: column_in_primary_key, unknown_column,
// invalid_policy (the owner column).
func (s *Service) DropColumn(ctx context.Context, name, column string) error {
	m, err := s.meta(ctx, name)
	if err != nil {
		return err
	}
	if m.column(column) == nil {
		return errUnknownColumn(column, m.Name)
	}
	for _, pk := range m.PrimaryKeys {
		if pk == column {
			return ErrColumnInPrimaryKey.WithMessage("Column '%s' is part of the primary key of table '%s'", column, m.Name)
		}
	}
	if oc := m.Policy.OwnerColumn; oc != nil && *oc == column {
		return ErrBadPolicy.WithMessage("Column '%s' is the owner column of table '%s'; change the policy first", column, m.Name)
	}
	return s.ddl(ctx, func(tx *sql.Tx) error {
		return s.repo.ExecAll(ctx, tx, []string{"ALTER TABLE " + qualified(m.Name) + " DROP COLUMN " + quoteIdent(column)})
	})
}

// UpdateTableResult says what PUT /tables/{t} changed.
type UpdateTableResult struct {
	Changed            bool
	OldName, NewName   string
	Description        *string
	Renamed, PolicySet bool
	// Policy is the table's effective policy after the update.
	Policy Policy
}

// UpdateTable renames a table, sets its description and/or its policy.
func (s *Service) UpdateTable(ctx context.Context, name string, in UpdateTableIn) (*UpdateTableResult, error) {
	m, err := s.meta(ctx, name)
	if err != nil {
		return nil, err
	}
	res := &UpdateTableResult{OldName: m.Name, NewName: m.Name}
	var stmts []string
	if in.NewName != nil && *in.NewName != m.Name {
		if !ValidIdent(*in.NewName) {
			return nil, ErrInvalidIdentifier.WithMessage("Invalid table name '%s'", *in.NewName)
		}
		stmts = append(stmts, "ALTER TABLE "+qualified(m.Name)+" RENAME TO "+quoteIdent(*in.NewName))
		res.NewName, res.Renamed = *in.NewName, true
	}
	if in.Description != nil {
		l, ok := quoteLiteral(*in.Description)
		if !ok {
			return nil, db.ErrInvalidValue.WithMessage("Invalid table description")
		}
		stmts = append(stmts, "COMMENT ON TABLE "+qualified(res.NewName)+" IS "+l)
		res.Description = in.Description
	}
	// Levels never chosen stay unset, so they keep following the owner column.
	pol, err := applyAccess(m.stored, in.Access)
	if err != nil {
		return nil, err
	}
	if in.OwnerColumn != nil {
		if isNull(in.OwnerColumn) {
			pol.OwnerColumn = nil
		} else {
			var oc string
			if err := json.Unmarshal(in.OwnerColumn, &oc); err != nil {
				return nil, ErrBadPolicy.WithMessage("owner_column must be a column name or null")
			}
			c := m.column(oc)
			if c == nil {
				return nil, ErrBadPolicy.WithMessage("owner_column '%s' is not a column of table '%s'", oc, m.Name)
			}
			if !ownerTypes[c.CastType] {
				return nil, ErrBadPolicy.WithMessage("owner_column '%s' must be uuid or text", oc)
			}
			pol.OwnerColumn = &oc
		}
	}
	if err := checkOwnerLevels(pol); err != nil {
		return nil, err
	}
	res.PolicySet = in.Access != nil || in.OwnerColumn != nil
	res.Policy = pol.Effective()
	if len(stmts) == 0 && !res.PolicySet {
		return res, nil
	}
	res.Changed = true
	err = s.ddl(ctx, func(tx *sql.Tx) error {
		if res.Renamed {
			exists, err := s.repo.Exists(ctx, tx, res.NewName)
			if err != nil {
				return err
			}
			if exists {
				return ErrTableExists.WithMessage("Table '%s' already exists", res.NewName)
			}
		}
		if err := s.repo.ExecAll(ctx, tx, stmts); err != nil {
			return err
		}
		if res.Renamed {
			if err := s.repo.RenamePolicy(ctx, tx, m.Name, res.NewName); err != nil {
				return err
			}
		}
		return s.repo.SavePolicy(ctx, tx, res.NewName, pol)
	})
	return res, err
}

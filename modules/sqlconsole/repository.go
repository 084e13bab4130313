package sqlconsole

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/platform/db"
)

// Repository stores snippets and history.
type Repository struct{ db bun.IDB }

// NewRepository wraps the database.
func NewRepository(d *bun.DB) *Repository { return &Repository{db: d} }

// On returns a repository running on d (a console connection).
func (r *Repository) On(d bun.IDB) *Repository { return &Repository{db: d} }

// AddHistory records a run.
func (r *Repository) AddHistory(ctx context.Context, h *HistoryEntry) error {
	_, err := r.db.NewInsert().Model(h).Returning("*").Exec(ctx)
	return db.Err(err)
}

// ClaimEcho finds the oldest run the server recorded for userID since
// `within` ago, still awaiting its echo, with the same query (ignoring
// surrounding white space) and outcome (failed: error set), clears its flag
// and returns it; nil when there is none. Concurrent claims take different
// rows.
func (r *Repository) ClaimEcho(ctx context.Context, userID uuid.UUID, query string, failed bool, within time.Duration) (*HistoryEntry, error) {
	h := &HistoryEntry{}
	err := r.db.NewRaw(`UPDATE selfdb.sql_history SET awaiting_echo = false
WHERE id = (SELECT id FROM selfdb.sql_history
  WHERE user_id = ? AND awaiting_echo AND btrim(query, E' \t\r\n') = ? AND (error IS NOT NULL) = ?
    AND executed_at > now() - make_interval(secs => ?)
  ORDER BY executed_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING *`, userID, strings.Trim(query, " \t\r\n"), failed, within.Seconds()).Scan(ctx, h)
	if db.ErrNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, db.Err(err)
	}
	return h, nil
}

// History lists a user's runs, newest first.
func (r *Repository) History(ctx context.Context, userID uuid.UUID, limit, offset int) ([]HistoryEntry, int, error) {
	out := []HistoryEntry{}
	n, err := r.db.NewSelect().Model(&out).Where("user_id = ?", userID).
		OrderExpr("executed_at DESC, id DESC").Limit(limit).Offset(offset).ScanAndCount(ctx)
	return out, n, db.Err(err)
}

// Snippets lists a user's own and every shared snippet, newest first.
func (r *Repository) Snippets(ctx context.Context, userID uuid.UUID) ([]Snippet, error) {
	out := []Snippet{}
	err := r.db.NewSelect().Model(&out).Where("user_id = ? OR is_shared", userID).OrderExpr("created_at DESC, id DESC").Scan(ctx)
	return out, db.Err(err)
}

// AddSnippet inserts a snippet.
func (r *Repository) AddSnippet(ctx context.Context, s *Snippet) error {
	_, err := r.db.NewInsert().Model(s).Returning("*").Exec(ctx)
	return db.Err(err)
}

// OwnSnippet loads a snippet of userID, or nil.
func (r *Repository) OwnSnippet(ctx context.Context, id, userID uuid.UUID) (*Snippet, error) {
	s := &Snippet{}
	err := r.db.NewSelect().Model(s).Where("id = ? AND user_id = ?", id, userID).Scan(ctx)
	if db.ErrNoRows(err) {
		return nil, nil
	}
	return s, db.Err(err)
}

// SaveSnippet writes a snippet's editable fields.
func (r *Repository) SaveSnippet(ctx context.Context, s *Snippet) error {
	_, err := r.db.NewUpdate().Model(s).Column("name", "description", "sql_code", "is_shared").
		Set("updated_at = now()").WherePK().Returning("*").Exec(ctx)
	return db.Err(err)
}

// DeleteSnippet deletes a snippet.
func (r *Repository) DeleteSnippet(ctx context.Context, id uuid.UUID) error {
	_, err := r.db.NewDelete().Model((*Snippet)(nil)).Where("id = ?", id).Exec(ctx)
	return db.Err(err)
}

// DeleteUserData removes a user's snippets and history (users.OwnedData).
func (r *Repository) DeleteUserData(ctx context.Context, userID uuid.UUID) error {
	return db.Err(r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*Snippet)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewDelete().Model((*HistoryEntry)(nil)).Where("user_id = ?", userID).Exec(ctx)
		return err
	}))
}

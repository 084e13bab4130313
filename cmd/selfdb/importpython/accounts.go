package importpython

import (
	"context"
	"crypto/sha256"
	"strings"
	"time"

	"github.com/google/uuid"
)

// accountsPlan is what a run writes to users, refresh tokens and snippets.
type accountsPlan struct {
	users    objectDiff[userRow]
	tokens   objectDiff[tokenRow]
	snippets objectDiff[snippetRow]
	userIDs  map[uuid.UUID]bool // every user the target will hold from the source
}

// planAccounts compares the source's users, refresh tokens and SQL
// snippets with the target's.
func (im *importer) planAccounts(ctx context.Context, snap *snapshot) (*accountsPlan, error) {
	ap := &accountsPlan{userIDs: map[uuid.UUID]bool{}}
	actualUsers, err := loadAll[userRow](ctx, im.tgt)
	if err != nil {
		return nil, err
	}
	var users []userRow
	emails := map[string]uuid.UUID{}
	for _, u := range snap.users {
		if other, ok := emails[strings.ToLower(u.Email)]; ok {
			im.problems.add("the source has two users whose emails differ only in case (%s: ids %s and %s); SelfDB Go treats emails case-insensitively: merge or rename one on the Python side", u.Email, other, u.ID)
		}
		emails[strings.ToLower(u.Email)] = u.ID
		users = append(users, userRow{ID: u.ID, Email: u.Email, HashedPassword: u.Hash, IsActive: u.IsActive,
			IsSuperuser: u.IsSuper, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt})
		ap.userIDs[u.ID] = true
	}
	for _, a := range actualUsers {
		if id, ok := emails[strings.ToLower(a.Email)]; ok && id != a.ID && !im.state.has(kindUser, a.key()) {
			im.problems.add("the target already has a user %s (id %s) that the import did not create, and the Python user with that email has id %s: import into a new database (do not start the Go server on it before the first import), or delete that user first",
				a.Email, a.ID, id)
		}
	}
	if rec := im.state.ids(kindUser); len(rec) > 0 {
		shared := false
		for _, id := range rec {
			if _, err := uuid.Parse(id); err == nil && ap.userIDs[uuid.MustParse(id)] {
				shared = true
				break
			}
		}
		if !shared {
			im.problems.add("the source is not the deployment imported before: none of the %d users imported earlier is in it (importing it would delete them all); check --from-db", len(rec))
		}
	}
	ap.users = diffObjects(im, kindUser, "user", users, actualUsers)

	actualTokens, err := loadAll[tokenRow](ctx, im.tgt)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var tokens []tokenRow
	for _, t := range snap.tokens {
		if t.Revoked || !t.ExpiresAt.After(now) || !ap.userIDs[t.UserID] {
			continue // a token that no longer works on the Python side is not carried over
		}
		sum := sha256.Sum256([]byte(t.Token))
		tokens = append(tokens, tokenRow{ID: t.ID, UserID: t.UserID, TokenHash: sum[:], FamilyID: t.ID,
			ExpiresAt: t.ExpiresAt, CreatedAt: t.CreatedAt})
	}
	ap.tokens = diffObjects(im, kindToken, "refresh token", tokens, actualTokens)

	actualSnippets, err := loadAll[snippetRow](ctx, im.tgt)
	if err != nil {
		return nil, err
	}
	var snippets []snippetRow
	for _, s := range snap.snippets {
		snippets = append(snippets, snippetRow{ID: s.ID, Name: s.Name, Description: s.Description, SQLCode: s.SQL,
			UserID: s.UserID, IsShared: s.IsShared, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt})
	}
	ap.snippets = diffObjects(im, kindSnippet, "SQL snippet", snippets, actualSnippets)
	return ap, nil
}

// applyUsers writes the users (before what they own).
func (im *importer) applyUsers(ctx context.Context, ap *accountsPlan) error {
	return upsert(ctx, im.tgt, ap.users.upserts, "email", "hashed_password", "is_active", "is_superuser", "created_at", "updated_at")
}

// applyTokensAndSnippets writes refresh tokens and snippets.
func (im *importer) applyTokensAndSnippets(ctx context.Context, ap *accountsPlan) error {
	if err := deleteIDs(ctx, im.tgt, "selfdb.refresh_tokens", ap.tokens.deletes); err != nil {
		return err
	}
	if err := upsert(ctx, im.tgt, ap.tokens.upserts, "user_id", "token_hash", "family_id", "expires_at", "created_at"); err != nil {
		return err
	}
	if err := deleteIDs(ctx, im.tgt, "selfdb.sql_snippets", ap.snippets.deletes); err != nil {
		return err
	}
	return upsert(ctx, im.tgt, ap.snippets.upserts, "name", "description", "sql_code", "user_id", "is_shared", "created_at", "updated_at")
}

// deleteUsers deletes the users gone from the source (after what they owned).
func (im *importer) deleteUsers(ctx context.Context, ap *accountsPlan) error {
	return deleteIDs(ctx, im.tgt, "selfdb.users", ap.users.deletes)
}

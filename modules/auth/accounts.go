package auth

import (
	"context"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/db"
)

// auth owns selfdb.users: these are the account operations other modules
// (users) call instead of writing the table themselves. Each write drops
// this process's cached copy at once (the caller reads its own write); the
// change-log event does it on every other instance.

// UserPatch is a partial update of an account; nil fields are left alone.
// Password is the new plain password (already validated).
type UserPatch struct {
	Email       *string
	SetFullName bool
	FullName    *string
	Password    *string
	IsActive    *bool
	IsSuperuser *bool
}

// rowPatch is a UserPatch with the password hashed.
type rowPatch struct {
	Email          *string
	SetFullName    bool
	FullName       *string
	HashedPassword *string
	IsActive       *bool
	IsSuperuser    *bool
}

// Users returns a page of accounts in (created_at, id) order; with
// nonSuperusers, only those (filtered before paging).
func (s *Service) Users(ctx context.Context, skip, limit int, nonSuperusers bool) ([]*User, error) {
	rows, err := s.repo.listUsers(ctx, skip, limit, nonSuperusers)
	if err != nil {
		return nil, err
	}
	out := make([]*User, len(rows))
	for i := range rows {
		out[i] = rows[i].public()
	}
	return out, nil
}

// CountNonSuperusers counts the accounts that are not superusers.
func (s *Service) CountNonSuperusers(ctx context.Context) (int, error) {
	return s.repo.countNonSuperusers(ctx)
}

// VerifyPassword reports whether password is the account's; found is false
// for no such account.
func (s *Service) VerifyPassword(ctx context.Context, id uuid.UUID, password string) (found, ok bool, err error) {
	row, err := s.repo.userRowByID(ctx, id)
	if err != nil || row == nil {
		return false, false, err
	}
	return true, s.hasher.Check(row.HashedPassword, password), nil
}

// UpdateUser applies p in one transaction and returns the account, nil
// when there is none. A new password or a deactivation revokes the user's
// refresh tokens in the same transaction. Errors: email_taken.
func (s *Service) UpdateUser(ctx context.Context, id uuid.UUID, p UserPatch) (*User, error) {
	rp := rowPatch{Email: p.Email, SetFullName: p.SetFullName, FullName: p.FullName, IsActive: p.IsActive, IsSuperuser: p.IsSuperuser}
	if p.Password != nil {
		h, err := s.HashPassword(*p.Password)
		if err != nil {
			return nil, err
		}
		rp.HashedPassword = &h
	}
	revoke := p.Password != nil || (p.IsActive != nil && !*p.IsActive)
	var row *userRow
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if row, err = s.repo.updateUser(ctx, tx, id, rp); err != nil || row == nil {
			return err
		}
		if revoke {
			return s.repo.deleteForUser(ctx, tx, id)
		}
		return nil
	})
	if err != nil {
		return nil, db.Err(err)
	}
	s.users.invalidate(id)
	if row == nil {
		return nil, nil
	}
	return row.public(), nil
}

// DeleteUser revokes the account's refresh tokens and deletes it in one
// transaction, reporting whether it existed. Errors: user_has_data.
func (s *Service) DeleteUser(ctx context.Context, id uuid.UUID) (bool, error) {
	var deleted bool
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.repo.deleteForUser(ctx, tx, id); err != nil {
			return err
		}
		var err error
		deleted, err = s.repo.deleteUser(ctx, tx, id)
		return err
	})
	// Even on failure: a half-done delete must not leave a stale copy.
	s.users.invalidate(id)
	return deleted, db.Err(err)
}

// AccessToken issues an access token of an active account, for work done on
// its behalf without a request of its own (a function's callBackend acts as
// the function's owner). The account is read like any caller's (process
// memory, memcached, Postgres). Errors: user_gone (no such account, or
// deactivated).
func (s *Service) AccessToken(ctx context.Context, id uuid.UUID) (string, error) {
	u, err := s.users.get(ctx, id)
	if err != nil {
		return "", err
	}
	if u == nil || !u.IsActive {
		return "", ErrUserGone
	}
	tok, err := s.tokens.Access(u)
	if err != nil {
		return "", apperr.Internal(err)
	}
	return tok, nil
}

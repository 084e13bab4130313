package users

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/identity"
)

// Accounts is what users needs from modules/auth (bound to *auth.Service).
type Accounts interface {
	CreateUser(ctx context.Context, in auth.NewUser) (*auth.User, error)
	User(ctx context.Context, id uuid.UUID) (*auth.User, error)
	HashPassword(password string) (string, error)
	CheckPassword(hash, password string) bool
	RevokeAll(ctx context.Context, idb bun.IDB, userID uuid.UUID) error
	UserChanged(ids ...uuid.UUID)
}

// Service holds the account administration rules.
type Service struct {
	db       *bun.DB
	repo     *Repository
	accounts Accounts
	owned    []OwnedData
}

// ServiceParams are NewService's dependencies.
type ServiceParams struct {
	fx.In
	DB       *bun.DB
	Repo     *Repository
	Accounts Accounts
	Owned    []OwnedData `group:"owned_data"`
}

// NewService builds the service.
func NewService(p ServiceParams) *Service {
	return &Service{db: p.DB, repo: p.Repo, accounts: p.Accounts, owned: p.Owned}
}

// Page is a skip/limit window.
type Page struct{ Skip, Limit int }

// List returns every user, a page at a time (superuser).
func (s *Service) List(ctx context.Context, p Page) ([]*auth.User, error) {
	return s.list(ctx, p, false)
}

// ListNonSuperusers returns the non-superusers, a page at a time (any user).
func (s *Service) ListNonSuperusers(ctx context.Context, p Page) ([]*auth.User, error) {
	return s.list(ctx, p, true)
}

func (s *Service) list(ctx context.Context, p Page, nonSuper bool) ([]*auth.User, error) {
	rows, err := s.repo.list(ctx, p.Skip, p.Limit, nonSuper)
	if err != nil {
		return nil, err
	}
	out := make([]*auth.User, len(rows))
	for i := range rows {
		out[i] = rows[i].public()
	}
	return out, nil
}

// CountNonSuperusers counts the non-superusers (any user).
func (s *Service) CountNonSuperusers(ctx context.Context) (int, error) {
	return s.repo.countNonSuperusers(ctx)
}

// Get returns a user: the caller's own, or any for a superuser. Errors:
// not_enough_privileges, user_not_found.
func (s *Service) Get(ctx context.Context, caller *identity.Principal, id uuid.UUID) (*auth.User, error) {
	if caller.ID != id && !caller.IsSuperuser() {
		return nil, identity.ErrNotEnoughPrivileges
	}
	u, err := s.accounts.User(ctx, id)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, ErrUserNotFound
	}
	return u, nil
}

// UpdateMe changes the caller's email, full name or password (any user).
// Errors: validation_failed, email_exists.
func (s *Service) UpdateMe(ctx context.Context, caller *identity.Principal, in updateMe) (*auth.User, error) {
	return s.update(ctx, caller.ID, updateUser{Email: in.Email, FullName: in.FullName, Password: in.Password})
}

// ChangePassword replaces the caller's password after checking the current
// one, and revokes their refresh tokens (any user). Errors:
// validation_failed, incorrect_password.
func (s *Service) ChangePassword(ctx context.Context, caller *identity.Principal, in updatePassword) error {
	var errs []*apperr.FieldError
	if in.CurrentPassword == nil {
		errs = append(errs, auth.Missing("current_password"))
	}
	if in.NewPassword == nil {
		errs = append(errs, auth.Missing("new_password"))
	} else {
		errs = append(errs, auth.CheckPassword("new_password", *in.NewPassword))
	}
	if err := auth.Fields(errs...); err != nil {
		return err
	}
	row, err := s.repo.byID(ctx, caller.ID)
	if err != nil {
		return err
	}
	if row == nil {
		return ErrUserNotFound
	}
	if !s.accounts.CheckPassword(row.HashedPassword, *in.CurrentPassword) {
		return ErrIncorrectPassword
	}
	_, err = s.update(ctx, caller.ID, updateUser{Password: in.NewPassword})
	return err
}

// Create adds an account with any flags (superuser). Errors:
// validation_failed, email_exists.
func (s *Service) Create(ctx context.Context, in createUser) (*auth.User, error) {
	var errs []*apperr.FieldError
	if in.Email == nil {
		errs = append(errs, auth.Missing("email"))
	} else {
		errs = append(errs, auth.CheckEmail("email", *in.Email))
	}
	if in.Password == nil {
		errs = append(errs, auth.Missing("password"))
	} else {
		errs = append(errs, auth.CheckPassword("password", *in.Password))
	}
	if in.FullName != nil {
		errs = append(errs, auth.CheckFullName("full_name", *in.FullName))
	}
	if err := auth.Fields(errs...); err != nil {
		return nil, err
	}
	nu := auth.NewUser{Email: *in.Email, Password: *in.Password, FullName: in.FullName, IsActive: true}
	if in.IsActive != nil {
		nu.IsActive = *in.IsActive
	}
	if in.IsSuperuser != nil {
		nu.IsSuperuser = *in.IsSuperuser
	}
	u, err := s.accounts.CreateUser(ctx, nu)
	if errors.Is(err, auth.ErrEmailTaken) {
		return nil, ErrEmailExists
	}
	return u, err
}

// Update changes any field of an account (superuser). Errors:
// validation_failed, email_exists, user_not_found.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in updateUser) (*auth.User, error) {
	return s.update(ctx, id, in)
}

// update validates and applies a change in one transaction; a new password
// or a deactivation revokes the user's refresh tokens in it.
func (s *Service) update(ctx context.Context, id uuid.UUID, in updateUser) (*auth.User, error) {
	var errs []*apperr.FieldError
	if in.Email != nil {
		errs = append(errs, auth.CheckEmail("email", *in.Email))
	}
	if in.Password != nil {
		errs = append(errs, auth.CheckPassword("password", *in.Password))
	}
	if in.FullName.Value != nil {
		errs = append(errs, auth.CheckFullName("full_name", *in.FullName.Value))
	}
	if err := auth.Fields(errs...); err != nil {
		return nil, err
	}
	p := patch{Email: in.Email, SetFullName: in.FullName.Set, FullName: in.FullName.Value, IsActive: in.IsActive, IsSuperuser: in.IsSuperuser}
	if in.Password != nil {
		h, err := s.accounts.HashPassword(*in.Password)
		if err != nil {
			return nil, err
		}
		p.HashedPassword = &h
	}
	revoke := in.Password != nil || (in.IsActive != nil && !*in.IsActive)
	var row *userRow
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if row, err = s.repo.update(ctx, tx, id, p); err != nil || row == nil {
			return err
		}
		if revoke {
			return s.accounts.RevokeAll(ctx, tx, id)
		}
		return nil
	})
	if err != nil {
		return nil, db.Err(err)
	}
	if row == nil {
		return nil, ErrUserNotFound
	}
	s.accounts.UserChanged(id)
	return row.public(), nil
}

// Delete removes an account and everything it owns (superuser; see doc.go
// for the semantics). Errors: cannot_delete_self, user_not_found,
// user_has_data.
func (s *Service) Delete(ctx context.Context, caller *identity.Principal, id uuid.UUID) error {
	if caller.ID == id {
		return ErrCannotDeleteSelf
	}
	row, err := s.repo.byID(ctx, id)
	if err != nil {
		return err
	}
	if row == nil {
		return ErrUserNotFound
	}
	for _, o := range s.owned {
		if err := o.DeleteUserData(ctx, id); err != nil {
			return err
		}
	}
	var deleted bool
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.accounts.RevokeAll(ctx, tx, id); err != nil {
			return err
		}
		var err error
		deleted, err = s.repo.delete(ctx, tx, id)
		return err
	})
	// Drop the cached record even on failure: a half-done delete must not
	// leave a stale copy behind.
	s.accounts.UserChanged(id)
	if err != nil {
		return db.Err(err)
	}
	if !deleted {
		return ErrUserNotFound
	}
	return nil
}

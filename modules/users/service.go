package users

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/identity"
)

// Accounts is what users needs from modules/auth, which owns selfdb.users
// (bound to *auth.Service).
type Accounts interface {
	CreateUser(ctx context.Context, in auth.NewUser) (*auth.User, error)
	User(ctx context.Context, id uuid.UUID) (*auth.User, error)
	Users(ctx context.Context, skip, limit int, nonSuperusers bool) ([]*auth.User, error)
	CountNonSuperusers(ctx context.Context) (int, error)
	VerifyPassword(ctx context.Context, id uuid.UUID, password string) (found, ok bool, err error)
	UpdateUser(ctx context.Context, id uuid.UUID, p auth.UserPatch) (*auth.User, error)
	DeleteUser(ctx context.Context, id uuid.UUID) (bool, error)
}

// Service holds the account administration rules.
type Service struct {
	accounts Accounts
	owned    []OwnedData
}

// ServiceParams are NewService's dependencies.
type ServiceParams struct {
	fx.In
	Accounts Accounts
	Owned    []OwnedData `group:"owned_data"`
}

// NewService builds the service.
func NewService(p ServiceParams) *Service {
	return &Service{accounts: p.Accounts, owned: p.Owned}
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
	return s.accounts.Users(ctx, p.Skip, p.Limit, nonSuper)
}

// CountNonSuperusers counts the non-superusers (any user).
func (s *Service) CountNonSuperusers(ctx context.Context) (int, error) {
	return s.accounts.CountNonSuperusers(ctx)
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
	found, ok, err := s.accounts.VerifyPassword(ctx, caller.ID, *in.CurrentPassword)
	if err != nil {
		return err
	}
	if !found {
		return ErrUserNotFound
	}
	if !ok {
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

// update validates a change and has auth apply it (a new password or a
// deactivation revokes the user's refresh tokens in the same transaction).
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
	u, err := s.accounts.UpdateUser(ctx, id, auth.UserPatch{Email: in.Email, SetFullName: in.FullName.Set, FullName: in.FullName.Value,
		Password: in.Password, IsActive: in.IsActive, IsSuperuser: in.IsSuperuser})
	if errors.Is(err, auth.ErrEmailTaken) {
		return nil, ErrEmailExists
	}
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, ErrUserNotFound
	}
	return u, nil
}

// Delete removes an account and everything it owns (superuser; see doc.go
// for the semantics). Errors: cannot_delete_self, user_not_found,
// user_has_data.
func (s *Service) Delete(ctx context.Context, caller *identity.Principal, id uuid.UUID) error {
	if caller.ID == id {
		return ErrCannotDeleteSelf
	}
	u, err := s.accounts.User(ctx, id)
	if err != nil {
		return err
	}
	if u == nil {
		return ErrUserNotFound
	}
	for _, o := range s.owned {
		if err := o.DeleteUserData(ctx, id); err != nil {
			return err
		}
	}
	deleted, err := s.accounts.DeleteUser(ctx, id)
	if err != nil {
		return err
	}
	if !deleted {
		return ErrUserNotFound
	}
	return nil
}

package auth

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
)

// Rate-limit scopes.
const (
	scopeLoginIP       = "login-ip"
	scopeLoginFailures = "login-fail"
	scopeRegisterIP    = "register-ip"
	scopeRegisterEmail = "register-email"
	scopeRefreshIP     = "refresh-ip"
)

// Service holds the sign-in rules: credentials, tokens, sessions, limits.
type Service struct {
	db      *bun.DB
	repo    *Repository
	tokens  *Tokens
	hasher  *Hasher
	cache   *cache.Cache
	users   *userCache
	limiter *Limiter
	cfg     *config.Config
	log     *zap.Logger
	now     func() time.Time
}

// ServiceParams are NewService's dependencies.
type ServiceParams struct {
	fx.In
	DB      *bun.DB
	Repo    *Repository
	Tokens  *Tokens
	Hasher  *Hasher
	Cache   *cache.Cache
	Users   *userCache
	Limiter *Limiter
	Config  *config.Config
	Logger  *zap.Logger
}

// NewService builds the service.
func NewService(p ServiceParams) *Service {
	return &Service{db: p.DB, repo: p.Repo, tokens: p.Tokens, hasher: p.Hasher, cache: p.Cache, users: p.Users,
		limiter: p.Limiter, cfg: p.Config, log: p.Logger.Named("auth"), now: time.Now}
}

func (s *Service) limit(scope, subject string, max int) error {
	if ok, retry := s.limiter.Hit(scope, subject, max); !ok {
		return ErrRateLimited.WithHeader("Retry-After", retryAfter(retry))
	}
	return nil
}

// Login checks credentials and opens a session (anyone). Errors:
// invalid_credentials, inactive_user, rate_limited.
func (s *Service) Login(ctx context.Context, email, password, ip string) (*LoginResponse, error) {
	if err := s.limit(scopeLoginIP, ip, s.cfg.AuthLoginMaxPerIP); err != nil {
		return nil, err
	}
	// The attempt takes its place among the failures before the password
	// is checked, so concurrent guesses can't all pass an unchanged count;
	// a right password gives the place back.
	failure, ok, retry := s.limiter.Reserve(scopeLoginFailures, strings.ToLower(email), s.cfg.AuthLoginMaxFailuresPerEmail)
	if !ok {
		return nil, ErrRateLimited.WithHeader("Retry-After", retryAfter(retry))
	}
	var row *userRow
	if len(email) <= MaxEmailLength && !strings.ContainsRune(email, 0) {
		var err error
		if row, err = s.repo.userByEmail(ctx, email); err != nil {
			failure.Release() // the database's failure, not a guess
			return nil, err
		}
	}
	if row == nil {
		s.hasher.Waste(password)
		return nil, ErrInvalidCredentials
	}
	if !s.hasher.Check(row.HashedPassword, password) {
		return nil, ErrInvalidCredentials
	}
	failure.Release()
	if !row.IsActive {
		return nil, ErrInactiveUser
	}
	u := row.public()
	access, err := s.tokens.Access(u)
	if err != nil {
		return nil, apperr.Internal(err)
	}
	refresh, err := s.openSession(ctx, s.db, u.ID, uuid.New())
	if err != nil {
		return nil, err
	}
	return &LoginResponse{
		AccessToken: access, TokenType: "bearer", RefreshToken: refresh,
		IsSuperuser: u.IsSuperuser, Email: u.Email, UserID: u.ID.String(),
	}, nil
}

// openSession stores a new refresh token in family and returns it.
func (s *Service) openSession(ctx context.Context, idb bun.IDB, userID, family uuid.UUID) (string, error) {
	tok, hash := newRefreshToken()
	err := s.repo.insertRefresh(ctx, idb, &refreshToken{
		UserID: userID, TokenHash: hash, FamilyID: family,
		ExpiresAt: s.now().Add(time.Duration(s.cfg.RefreshTokenExpireDays) * 24 * time.Hour),
	})
	if err != nil {
		return "", err
	}
	return tok, nil
}

// Register creates an active non-superuser (anyone, while
// AUTH_ALLOW_SIGNUP). Errors: signup_disabled, validation_failed,
// email_taken, rate_limited.
func (s *Service) Register(ctx context.Context, in RegisterRequest, ip string) (*User, error) {
	if err := s.SignupOpen(); err != nil {
		return nil, err
	}
	if err := s.limit(scopeRegisterIP, ip, s.cfg.AuthRegisterMaxPerIP); err != nil {
		return nil, err
	}
	var errs []*apperr.FieldError
	if in.Email == nil {
		errs = append(errs, Missing("email"))
	} else {
		errs = append(errs, CheckEmail("email", *in.Email))
	}
	if in.Password == nil {
		errs = append(errs, Missing("password"))
	} else {
		errs = append(errs, CheckPassword("password", *in.Password))
	}
	if in.FullName != nil {
		errs = append(errs, CheckFullName("full_name", *in.FullName))
	}
	if err := Fields(errs...); err != nil {
		return nil, err
	}
	if err := s.limit(scopeRegisterEmail, strings.ToLower(*in.Email), s.cfg.AuthRegisterMaxPerEmail); err != nil {
		return nil, err
	}
	return s.CreateUser(ctx, NewUser{Email: *in.Email, Password: *in.Password, FullName: in.FullName, IsActive: true})
}

// SignupOpen is nil while anyone may register (AUTH_ALLOW_SIGNUP), else
// signup_disabled.
func (s *Service) SignupOpen() error {
	if !s.cfg.AuthAllowSignup {
		return ErrSignupDisabled
	}
	return nil
}

// CreateUser inserts an account with already validated fields. Errors:
// email_taken (callers may re-message it).
func (s *Service) CreateUser(ctx context.Context, in NewUser) (*User, error) {
	hash, err := s.hasher.Hash(in.Password)
	if err != nil {
		return nil, apperr.Internal(err)
	}
	row := &userRow{Email: in.Email, HashedPassword: hash, FullName: in.FullName, IsActive: in.IsActive, IsSuperuser: in.IsSuperuser}
	created, err := s.repo.insertUser(ctx, row)
	if err != nil {
		return nil, err
	}
	if !created {
		return nil, ErrEmailTaken
	}
	return row.public(), nil
}

// Refresh exchanges a refresh token for a new access token (anyone holding
// one). With rotation on it also returns a new refresh token and retires the
// old one; presenting a retired token after the grace window revokes the
// whole family. Errors: invalid_refresh_token, user_gone, rate_limited.
func (s *Service) Refresh(ctx context.Context, token, ip string) (*RefreshResponse, error) {
	if err := s.limit(scopeRefreshIP, ip, s.cfg.AuthRefreshMaxPerIP); err != nil {
		return nil, err
	}
	if token == "" || len(token) > 512 {
		return nil, ErrInvalidRefreshToken
	}
	rt, err := s.repo.refreshByHash(ctx, hashRefreshToken(token))
	if err != nil {
		return nil, err
	}
	now := s.now()
	if rt == nil || !rt.ExpiresAt.After(now) {
		return nil, ErrInvalidRefreshToken
	}
	if rt.RetiredAt != nil && now.Sub(*rt.RetiredAt) > s.cfg.AuthRefreshReuseGrace {
		// Reuse of a rotated token: someone else may hold the family.
		if err := s.repo.deleteFamily(ctx, rt.FamilyID); err != nil {
			return nil, err
		}
		s.log.Warn("refresh token reuse; session revoked", zap.Stringer("user_id", rt.UserID), zap.Stringer("family_id", rt.FamilyID))
		return nil, ErrInvalidRefreshToken
	}
	u, err := s.User(ctx, rt.UserID)
	if err != nil {
		return nil, err
	}
	if u == nil || !u.IsActive {
		return nil, ErrUserGone
	}
	access, err := s.tokens.Access(u)
	if err != nil {
		return nil, apperr.Internal(err)
	}
	out := &RefreshResponse{AccessToken: access, TokenType: "bearer"}
	if !s.cfg.AuthRefreshRotation && rt.RetiredAt == nil {
		return out, nil
	}
	// Rotation (or a just-retired token within its grace window, which
	// gets a sibling in the same family so concurrent refreshes all work).
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if rt.RetiredAt == nil {
			if _, err := s.repo.retire(ctx, tx, rt.ID, now); err != nil {
				return err
			}
		}
		tok, err := s.openSession(ctx, tx, rt.UserID, rt.FamilyID)
		out.RefreshToken = tok
		return err
	})
	if err != nil {
		return nil, db.Err(err)
	}
	return out, nil
}

// Logout revokes the session (token family) of a refresh token; unknown
// tokens are ignored (idempotent).
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.repo.deleteFamilyByHash(ctx, hashRefreshToken(token))
}

// LogoutAll revokes every refresh token of the user.
func (s *Service) LogoutAll(ctx context.Context, userID uuid.UUID) error {
	return s.repo.deleteForUser(ctx, s.db, userID)
}

// HashPassword hashes a validated password with the configured cost.
func (s *Service) HashPassword(password string) (string, error) {
	h, err := s.hasher.Hash(password)
	if err != nil {
		return "", apperr.Internal(err)
	}
	return h, nil
}

// User returns an account (cached), or nil, nil when there is none.
func (s *Service) User(ctx context.Context, id uuid.UUID) (*User, error) {
	return s.users.get(ctx, id)
}

// Bootstrap creates DEFAULT_ADMIN_EMAIL as an active superuser unless a
// user with that email exists; an existing user is never modified, and two
// instances starting at once create it once (ON CONFLICT DO NOTHING).
func (s *Service) Bootstrap(ctx context.Context) error {
	email := s.cfg.DefaultAdminEmail
	if email == "" {
		return nil
	}
	existing, err := s.repo.userByEmail(ctx, email)
	if err != nil {
		return err
	}
	if existing != nil {
		return nil
	}
	_, err = s.CreateUser(ctx, NewUser{Email: email, Password: s.cfg.DefaultAdminPassword, IsActive: true, IsSuperuser: true})
	switch {
	case err == nil:
		s.log.Info("default superuser created", zap.String("email", email))
	case apperr.From(err).Is(ErrEmailTaken):
		// Another instance created it meanwhile.
	default:
		return err
	}
	return nil
}

// PurgeExpired deletes expired refresh tokens in idb and reports how many.
func (s *Service) PurgeExpired(ctx context.Context, idb bun.IDB) (int64, error) {
	return s.repo.purgeExpired(ctx, idb)
}

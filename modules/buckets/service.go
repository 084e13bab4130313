package buckets

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/identity"
)

// Contents is what deleting a bucket needs from the module that stores its
// files (modules/files binds it).
type Contents interface {
	// DeleteBucketRows deletes the bucket's file rows inside tx and returns their ids.
	DeleteBucketRows(ctx context.Context, tx bun.Tx, bucketID uuid.UUID) ([]uuid.UUID, error)
	// PurgeBucket runs after the commit: it drops the files' cache entries and
	// removes the bucket's bytes.
	PurgeBucket(ctx context.Context, bucketID uuid.UUID, fileIDs []uuid.UUID) error
}

// Service holds the bucket rules: visibility, ownership, naming, caching.
type Service struct {
	db       *bun.DB
	repo     *Repository
	cache    *cache.Cache
	contents Contents
	log      *zap.Logger
}

// Params are NewService's dependencies.
type Params struct {
	fx.In
	DB       *bun.DB
	Cache    *cache.Cache
	Contents Contents
	Logger   *zap.Logger
}

// NewService builds the service.
func NewService(p Params) *Service {
	return &Service{db: p.DB, repo: NewRepository(p.DB), cache: p.Cache, contents: p.Contents, log: p.Logger.Named("buckets")}
}

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// ValidName reports whether name follows the bucket naming rules: 3–63
// characters of a-z, 0-9, '-' and '.', starting and ending alphanumeric, no
// "..". Names appear in URL paths, so nothing else is allowed.
func ValidName(name string) bool {
	return nameRe.MatchString(name) && !strings.Contains(name, "..")
}

// CanRead reports whether p (nil: anon) may see b and its files.
func CanRead(p *identity.Principal, b *Bucket) bool {
	return b.IsPublic || (!p.IsAnon() && (p.IsSuperuser() || p.ID == b.OwnerID))
}

// CanWrite reports whether p may change or delete b.
func CanWrite(p *identity.Principal, b *Bucket) bool {
	return !p.IsAnon() && (p.IsSuperuser() || p.ID == b.OwnerID)
}

func (s *Service) key(id uuid.UUID) string { return s.cache.Key("buckets", id.String()) }

// Get returns a bucket by id (cached), with no authorization; for other
// modules. Errors: bucket_not_found.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*Bucket, error) {
	return cache.GetOrLoad(ctx, s.cache, s.key(id), 0, func(ctx context.Context) (*Bucket, error) {
		return s.repo.FindByID(ctx, id)
	})
}

// GetByName returns a bucket by name, with no authorization. Errors: bucket_not_found.
func (s *Service) GetByName(ctx context.Context, name string) (*Bucket, error) {
	if !ValidName(name) {
		return nil, ErrNotFound
	}
	return s.repo.FindByName(ctx, name)
}

// Exists reports which of ids still have a bucket (for the storage janitor).
func (s *Service) Exists(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	return s.repo.Exists(ctx, ids)
}

// List is GET /buckets for anyone: anon sees public buckets, a user own +
// public, a superuser all.
func (s *Service) List(ctx context.Context, p *identity.Principal, skip, limit int) ([]WithStats, error) {
	scope := Scope{}
	switch {
	case p.IsAnon():
	case p.IsSuperuser():
		scope.All = true
	default:
		scope.Viewer = &p.ID
	}
	return s.repo.List(ctx, scope, skip, limit)
}

// ListPublic is GET /buckets/public: public buckets only, whoever asks.
func (s *Service) ListPublic(ctx context.Context, skip, limit int) ([]WithStats, error) {
	return s.repo.List(ctx, Scope{}, skip, limit)
}

// Read is GET /buckets/{id}. Errors: bucket_not_found, bucket_not_public
// (anon), bucket_forbidden (another user's private bucket).
func (s *Service) Read(ctx context.Context, p *identity.Principal, id uuid.UUID) (*WithStats, error) {
	b, err := s.repo.GetWithStats(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := ReadErr(p, &b.Bucket); err != nil {
		return nil, err
	}
	return b, nil
}

// ReadErr is nil when p may read b, else the contract's 403.
func ReadErr(p *identity.Principal, b *Bucket) error {
	switch {
	case CanRead(p, b):
		return nil
	case p.IsAnon():
		return ErrNotPublic
	default:
		return ErrForbidden
	}
}

// Create is POST /buckets for a user. Errors: invalid_bucket_name, bucket_exists.
func (s *Service) Create(ctx context.Context, p *identity.Principal, name string, description *string, public bool) (*Bucket, error) {
	if !ValidName(name) {
		return nil, ErrInvalidName
	}
	b := &Bucket{Name: name, Description: description, IsPublic: public, OwnerID: p.ID}
	if err := s.repo.Insert(ctx, b); err != nil {
		return nil, err
	}
	return b, nil
}

// Update is PUT /buckets/{id} by the owner or a superuser; nil fields stay.
// Errors: bucket_not_found, not_enough_permissions, invalid_bucket_name, bucket_exists.
func (s *Service) Update(ctx context.Context, p *identity.Principal, id uuid.UUID, req UpdateRequest) (*Bucket, error) {
	b, err := s.repo.FindByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if !CanWrite(p, b) {
		return nil, identity.ErrNotOwner
	}
	var cols []string
	if req.Name != nil && *req.Name != b.Name {
		if !ValidName(*req.Name) {
			return nil, ErrInvalidName
		}
		b.Name = *req.Name
		cols = append(cols, "name")
	}
	if req.Description != nil {
		b.Description = req.Description
		cols = append(cols, "description")
	}
	if req.IsPublic != nil {
		b.IsPublic = *req.IsPublic
		cols = append(cols, "is_public")
	}
	if len(cols) == 0 {
		return b, nil
	}
	if err := s.repo.Update(ctx, b, cols...); err != nil {
		return nil, err
	}
	s.cache.Invalidate(s.key(id))
	return b, nil
}

// Delete is DELETE /buckets/{id} by the owner or a superuser: the bucket, its
// file rows and its bytes. Errors: bucket_not_found, not_enough_permissions.
func (s *Service) Delete(ctx context.Context, p *identity.Principal, id uuid.UUID) error {
	b, err := s.repo.FindByID(ctx, id)
	if err != nil {
		return err
	}
	if !CanWrite(p, b) {
		return identity.ErrNotOwner
	}
	return s.remove(ctx, id)
}

// remove deletes rows in one transaction, then the bytes (see doc.go for the order).
func (s *Service) remove(ctx context.Context, id uuid.UUID) error {
	var fileIDs []uuid.UUID
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if fileIDs, err = s.contents.DeleteBucketRows(ctx, tx, id); err != nil {
			return err
		}
		return s.repo.WithTx(tx).Delete(ctx, id)
	})
	if err != nil {
		return db.Err(err)
	}
	s.cache.Invalidate(s.key(id))
	if err := s.contents.PurgeBucket(ctx, id, fileIDs); err != nil {
		// The rows are gone; the janitor removes the directory later.
		s.log.Warn("bucket bytes not removed; the janitor will retry", zap.Stringer("bucket_id", id), zap.Error(err))
	}
	return nil
}

// DeleteUserData removes every bucket userID owns, files and bytes included
// (users.OwnedData).
func (s *Service) DeleteUserData(ctx context.Context, userID uuid.UUID) error {
	ids, err := s.repo.IDsByOwner(ctx, userID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.remove(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

package auth

import (
	"context"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
	"github.com/selfdb/selfdb/platform/worker"
	"github.com/uptrace/bun"
)

// Module provides *Identity, *Service and the /api/v1/auth routes, creates
// the default superuser at start and purges expired refresh tokens.
var Module = fx.Module("auth",
	fx.Provide(
		NewRepository,
		func(cfg *config.Config) *Tokens {
			return NewTokens(cfg.SecretKey, time.Duration(cfg.AccessTokenExpireMinutes)*time.Minute)
		},
		func(cfg *config.Config) *Hasher { return NewHasher(cfg.BcryptCost) },
		func(c *cache.Cache, cfg *config.Config) *Limiter { return NewLimiter(c, cfg.AuthRateLimitWindow) },
		newUserCache,
		func(t *Tokens, u *userCache, r *Repository, cfg *config.Config) *Identity {
			if cfg.AuthAcceptLegacyTokens {
				return NewIdentity(t, u, r)
			}
			return NewIdentity(t, u, nil)
		},
		func(i *Identity) identity.Resolver { return i },
		NewService,
		newHandler,
		httpserver.AsRoutes(NewRoutes),
	),
	fx.Provide(func(r *Repository) userLoader { return r }),
	fx.Provide(worker.As(newPurger)),
)

// newHandler builds the routes' handler and creates the default superuser at
// start. The hook is registered here, not by an fx.Invoke, so that it runs
// before the server's: Fx runs start hooks in the order they were appended,
// a constructor's before those of what depends on it, and the server depends
// on the routes. The server then listens (and /readyz says ready) only once
// the superuser can log in; an Invoke's hook came after the server's.
func newHandler(lc fx.Lifecycle, svc *Service) *Handler {
	lc.Append(fx.Hook{OnStart: svc.Bootstrap})
	return NewHandler(svc)
}

// newPurger deletes expired refresh tokens every AUTH_TOKEN_PURGE_INTERVAL,
// on one instance at a time.
func newPurger(svc *Service, d *bun.DB, cfg *config.Config, log *zap.Logger) worker.Worker {
	const name = "auth.purge-refresh-tokens"
	log = log.Named("auth")
	return worker.Every(name, cfg.AuthTokenPurgeInterval, func(ctx context.Context) error {
		_, err := db.WithAdvisoryLock(ctx, d, name, func(ctx context.Context, tx bun.Tx) error {
			n, err := svc.PurgeExpired(ctx, tx)
			if n > 0 {
				log.Info("expired refresh tokens purged", zap.Int64("count", n))
			}
			return err
		})
		return err
	})
}

package auth

import (
	"context"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
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
		NewIdentity,
		func(i *Identity) identity.Resolver { return i },
		NewService,
		NewHandler,
		httpserver.AsRoutes(NewRoutes),
	),
	fx.Provide(func(r *Repository) userLoader { return r }),
	fx.Invoke(registerWorkers),
)

// registerWorkers bootstraps the superuser at start and runs the purge of
// expired refresh tokens until stop.
func registerWorkers(lc fx.Lifecycle, svc *Service, cfg *config.Config, log *zap.Logger) {
	p := newPurger(svc, cfg.AuthTokenPurgeInterval, log.Named("auth"))
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := svc.Bootstrap(ctx); err != nil {
				return err
			}
			p.start()
			return nil
		},
		OnStop: func(context.Context) error {
			p.stop()
			return nil
		},
	})
}

// purger deletes expired refresh tokens every interval.
type purger struct {
	svc      *Service
	interval time.Duration
	log      *zap.Logger
	cancel   context.CancelFunc
	done     chan struct{}
}

func newPurger(svc *Service, interval time.Duration, log *zap.Logger) *purger {
	return &purger{svc: svc, interval: interval, log: log}
}

func (p *purger) start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go p.run(ctx)
}

func (p *purger) run(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		// Purge at start too: instances restarted more often than the
		// interval would otherwise never purge.
		p.purge(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *purger) purge(ctx context.Context) {
	n, err := p.svc.PurgeExpired(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		p.log.Warn("purging expired refresh tokens failed", zap.Error(err))
	case n > 0:
		p.log.Info("expired refresh tokens purged", zap.Int64("count", n))
	}
}

func (p *purger) stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	<-p.done
}

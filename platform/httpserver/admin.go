package httpserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/config"
)

// ServeAdmin starts net/http/pprof on ADMIN_ADDR when it is set; it is never
// on the public port.
func ServeAdmin(lc fx.Lifecycle, cfg *config.Config, log *zap.Logger) {
	if cfg.AdminAddr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", cfg.AdminAddr)
			if err != nil {
				return err
			}
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error("admin listener stopped", zap.Error(err))
				}
			}()
			log.Info("admin listener (pprof)", zap.String("addr", ln.Addr().String()))
			return nil
		},
		OnStop: srv.Shutdown,
	})
}

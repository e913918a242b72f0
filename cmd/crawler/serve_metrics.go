package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"crawler/config"
	"crawler/crawl"
)

// startMetrics serves GET /metrics (Prometheus text) and GET /healthz (200
// while the pipeline runs) on api.listen; nothing when it is empty.
func startMetrics(cfg *config.Config, eng *crawl.Engine, log *slog.Logger) (io.Closer, error) {
	if cfg.API.Listen == "" {
		return io.NopCloser(nil), nil
	}
	ln, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		return nil, settingError{fmt.Errorf("api.listen %s: %w", cfg.API.Listen, err)}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(eng.Registry(), promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !eng.Running() {
			http.Error(w, "pipeline not running", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String())
	return closerFunc(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	}), nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

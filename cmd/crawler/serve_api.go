package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"crawler/api"
	"crawler/config"
	"crawler/crawl"
	"crawler/store"
)

// startAPI starts the daemon's control API on the unix socket
// cfg.SocketPath() (mode 0600), answering the query verbs from db and the
// engine's live state. The returned closer stops it and removes the
// socket; it runs before the DB closes.
func startAPI(_ context.Context, cfg *config.Config, db *store.DB, eng *crawl.Engine, log *slog.Logger) (io.Closer, error) {
	d := api.NewDaemon(db, eng, api.DaemonOptions{})
	srv, err := api.Listen(cfg.SocketPath(), d, api.ServerOptions{Logger: log})
	if err != nil {
		_ = d.Close()
		if errors.Is(err, api.ErrSocketInUse) {
			return nil, fmt.Errorf("control socket: %w; another crawler uses api.socket %s", err, cfg.SocketPath())
		}
		return nil, fmt.Errorf("control socket: %w", err)
	}
	log.Info("control API listening", "socket", srv.Path())
	return apiCloser{srv, d}, nil
}

// apiCloser stops the server, then the daemon's sampler.
type apiCloser struct {
	srv *api.Server
	d   *api.Daemon
}

func (c apiCloser) Close() error {
	err := c.srv.Close()
	_ = c.d.Close()
	return err
}

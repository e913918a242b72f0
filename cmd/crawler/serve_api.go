package main

import (
	"context"
	"io"
	"log/slog"

	"crawler/config"
	"crawler/crawl"
	"crawler/store"
)

// startAPI starts the daemon's control API (unix socket) and, when
// api.listen is set, its HTTP listener. The returned closer stops them; it
// runs before the engine stops and the DB closes.
func startAPI(_ context.Context, _ *config.Config, _ *store.DB, _ *crawl.Engine, _ *slog.Logger) (io.Closer, error) {
	return io.NopCloser(nil), nil
}

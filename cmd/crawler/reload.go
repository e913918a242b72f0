package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"crawler/api"
	"crawler/config"
	"crawler/store"
)

func newReloadCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Make the running daemon re-read its config file",
		Long: `Reload checks the config file here first (a file with errors is reported
and nothing is sent), then sends SIGHUP to the daemon running on its data_dir
(found through data_dir/crawler.pid, and only while a daemon answers on the
socket or holds the database, so a pidfile left by a crash is never trusted
with a pid that may belong to another process). The daemon parses and validates the file
again; if that fails it keeps its old config. "crawler stats" shows the result
of the last reload.`,
		Example: `  crawler reload --config crawler.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			pidfile := filepath.Join(cfg.DataDir, "crawler.pid")
			b, err := os.ReadFile(pidfile)
			if errors.Is(err, fs.ErrNotExist) {
				return dataError{fmt.Errorf("no daemon is running on data_dir %s (no %s)", cfg.DataDir, pidfile)}
			}
			if err != nil {
				return dataError{err}
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil || pid <= 0 {
				return dataError{fmt.Errorf("%s does not hold a pid", pidfile)}
			}
			if !daemonAlive(cmd.Context(), cfg) {
				// A kill -9 leaves the pidfile behind, and its pid may
				// since belong to another process, which SIGHUP would end.
				return dataError{fmt.Errorf("no daemon is running on data_dir %s (it neither answers on %s nor holds %s); %s is stale, remove it",
					cfg.DataDir, cfg.SocketPath(), cfg.DBPath(), pidfile)}
			}
			if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
				return dataError{fmt.Errorf("signal daemon pid %d: %w (stale %s?)", pid, err, pidfile)}
			}
			fmt.Fprintf(g.stdout, "reload requested from daemon pid %d; `crawler stats` shows the result\n", pid)
			return nil
		},
	}
}

// daemonAlive reports whether a crawler runs on cfg's data_dir: one answers
// on its socket, or (stuck) holds the database file's lock.
func daemonAlive(ctx context.Context, cfg *config.Config) bool {
	c := api.NewClient(cfg.SocketPath(), api.ClientOptions{DialTimeout: socketDialTimeout})
	defer c.Close()
	pctx, cancel := context.WithTimeout(ctx, socketPingTimeout)
	err := c.Ping(pctx)
	cancel()
	if err == nil {
		return true
	}
	db, err := store.Open(cfg.DBPath(), store.Options{ReadOnly: true, Timeout: fileLockTimeout})
	if err == nil {
		_ = db.Close()
	}
	return errors.Is(err, store.ErrLocked)
}

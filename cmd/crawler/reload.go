package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func newReloadCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Make the running daemon re-read its config file",
		Long: `Reload checks the config file here first (a file with errors is reported
and nothing is sent), then sends SIGHUP to the daemon running on its data_dir
(found through data_dir/crawler.pid, and only while the daemon that wrote it
holds the file's lock, so a pidfile left by a crash is never trusted with a
pid that may belong to another process). The daemon parses and validates the file
again; if that fails it keeps its old config. "crawler stats" shows the result
of the last reload.`,
		Example: `  crawler reload --config crawler.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			pidfile := filepath.Join(cfg.DataDir, pidfileName)
			pid, held, err := readPidfile(pidfile)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return dataError{fmt.Errorf("no daemon is running on data_dir %s (no %s)", cfg.DataDir, pidfile)}
			case err != nil:
				return dataError{err}
			case !held:
				// A kill -9 leaves the pidfile behind, and its pid may
				// since belong to another process, which SIGHUP would end.
				return dataError{fmt.Errorf("no daemon is running on data_dir %s (none holds %s): it is stale, remove it (or a daemon is starting: try again)",
					cfg.DataDir, pidfile)}
			}
			if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
				return dataError{fmt.Errorf("signal daemon pid %d: %w (stale %s?)", pid, err, pidfile)}
			}
			fmt.Fprintf(g.stdout, "reload requested from daemon pid %d; `crawler stats` shows the result\n", pid)
			return nil
		},
	}
}

// pidfileName is the daemon's pidfile in its data_dir.
const pidfileName = "crawler.pid"

// writePidfile writes this process's pid to path, which it keeps locked
// (flock) until release: reload trusts a pidfile only while it is locked,
// and a kill -9 drops the lock with the process, so a pidfile left by a
// crash is never taken for a running daemon's. It is written and locked
// beside path, then renamed into place, so a locked pidfile always holds
// its locker's pid. release removes it, then drops the lock.
func writePidfile(path string) (release func(), err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+pidfileName)
	if err != nil {
		return func() {}, err
	}
	if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		if _, err = f.WriteString(strconv.Itoa(os.Getpid()) + "\n"); err == nil {
			if err = f.Chmod(0o644); err == nil {
				err = os.Rename(f.Name(), path)
			}
		}
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return func() {}, err
	}
	return func() {
		_ = os.Remove(path)
		_ = f.Close()
	}, nil
}

// readPidfile returns the pid in the pidfile at path, and whether the
// daemon that wrote it still holds it (writePidfile): false when it is
// gone (a kill -9) or a daemon starting has not written its own yet.
func readPidfile(path string) (pid int, held bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close() // drops the lock taken when none held it
	switch err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); {
	case err == nil:
		return 0, false, nil
	case !errors.Is(err, syscall.EWOULDBLOCK):
		return 0, false, fmt.Errorf("lock %s: %w", path, err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return 0, true, err
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, true, fmt.Errorf("%s does not hold a pid", path)
	}
	return pid, true, nil
}

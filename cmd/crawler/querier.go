package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"crawler/api"
	"crawler/config"
	"crawler/store"
)

// How the query verbs find their answers.
const (
	socketDialTimeout = 250 * time.Millisecond // connecting to the daemon's socket
	socketPingTimeout = 2 * time.Second        // the daemon's first answer
	fileLockTimeout   = 500 * time.Millisecond // waiting for the database file's lock
)

// querier is the backend a query verb runs on: the running daemon through
// its socket, or the database file when no daemon answers.
type querier struct {
	api.Querier
	cfg     *config.Config
	running bool   // the daemon answered
	source  string // where the answers come from, for people
	close   func()
}

// whenFetched says when the URLs a verb queued are fetched.
func (q *querier) whenFetched() string {
	if q.running {
		return "the running crawler fetches them now"
	}
	return "queued for the next crawler run"
}

// openQuerier asks the daemon on the config's socket, or, when none
// answers there, opens the database file (read-only unless writable) with
// a short lock timeout: it never hangs on a lock. Call close when done.
//
// A config file the CLI refuses still leads to a running crawler: it
// keeps the config it last loaded (a reload of a bad file is refused, and
// `crawler stats` shows why), so the verbs reach it through the data_dir
// and api.socket the file gives (config.Salvage), with a warning, and the
// defaults for the rest. With no crawler answering, the error stands.
func openQuerier(ctx context.Context, g *globals, writable bool) (*querier, error) {
	cfg, err := loadConfig(g.configPath)
	if err != nil {
		var ce *config.Error
		salvaged := config.Salvage(g.configPath)
		if !errors.As(err, &ce) || salvaged == nil {
			return nil, err
		}
		q, ok := dialDaemon(ctx, salvaged)
		if !ok {
			return nil, err
		}
		fmt.Fprintf(g.stderr, "crawler: warning: config: %v\ncrawler: asking the %s, which keeps the config it last loaded (other settings here are the defaults)\n",
			err, q.source)
		return q, nil
	}
	if q, ok := dialDaemon(ctx, cfg); ok {
		return q, nil
	}
	sock := cfg.SocketPath()

	path := cfg.DBPath()
	if writable {
		// A read-write open would create the file: a typo in --config
		// must not start an empty crawl somewhere.
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open %s: %w", path, store.ErrMissing)
		}
	}
	db, err := store.Open(path, store.Options{ReadOnly: !writable, Timeout: fileLockTimeout})
	switch {
	case errors.Is(err, store.ErrLocked):
		return nil, dataError{fmt.Errorf("database locked by a running crawler that does not answer on %s: %v; %s", sock, err, hintNoAnswerOnSocket)}
	case errors.Is(err, store.ErrMissing), errors.Is(err, store.ErrCorrupt):
		return nil, err
	case err != nil:
		return nil, dataError{err}
	}
	return &querier{Querier: api.NewLocal(db, cfg), cfg: cfg, source: "stopped crawl in " + path, close: func() { _ = db.Close() }}, nil
}

// dialDaemon returns a querier on the daemon answering at cfg's socket;
// false when none answers.
func dialDaemon(ctx context.Context, cfg *config.Config) (*querier, bool) {
	sock := cfg.SocketPath()
	c := api.NewClient(sock, api.ClientOptions{DialTimeout: socketDialTimeout})
	pctx, cancel := context.WithTimeout(ctx, socketPingTimeout)
	err := c.Ping(pctx)
	cancel()
	if err != nil {
		_ = c.Close()
		return nil, false
	}
	return &querier{Querier: c, cfg: cfg, running: true, source: "running crawler at " + sock, close: func() { _ = c.Close() }}, true
}

// loadConfig loads the config of any verb; an unreadable file is a usage
// error (exit 2) like an invalid one.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, usageErr(err)
	}
	return cfg, nil
}

// queryErr maps a Querier's error to the CLI's exit codes: a request that
// can never succeed is a usage error.
func queryErr(err error) error {
	if errors.Is(err, api.ErrInvalid) {
		return usageErr(err)
	}
	return err
}

// checkFormat returns a usage error unless format is one of allowed.
func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return usageErr(fmt.Errorf("--format %q: want one of %s", format, strings.Join(allowed, ", ")))
}

// isTerminal reports whether w is a terminal (so progress lines and
// refusals of binary output apply).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// usageArgs makes a positional-argument check's failure a usage error
// (exit 2): exit.go maps cobra's unknown commands and flags, not these.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageErr(err)
		}
		return nil
	}
}

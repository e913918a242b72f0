package main

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/spf13/cobra"

	"crawler/store"
)

func newCompactCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "compact",
		Short: "Rewrite the database file and its value log without their free space (daemon stopped)",
		Long: `Compact rewrites data_dir/crawl.db without the pages it no longer uses,
and its value log (crawl.db.values.N) without the records and bodies that
recrawls replaced.

bbolt never shrinks its file: pages freed by fetched queues and deleted
records are reused by later writes, but the file keeps its largest size. The
value log only grows: a recrawl appends the page's new record and body. After
a big crawl has drained its queue, or many recrawls, most of both can be
free. Compact copies what is live to crawl.db.compact and to the log of the
next generation beside it, syncs and checks both, and renames the copy over
crawl.db, which switches to the new log; the old log is removed after. Any
failure (a full disk, a damaged log, a crash) leaves crawl.db and its log as
they were; files left by a crash are removed by the next compact or run. The
copy needs up to the live data's size in free space. stats shows how much
of the value log replaced records and bodies take, and run logs a hint at
start-up once they are most of it.

Like check, it needs the daemon stopped (bbolt locks the file): a running
daemon, a missing, corrupt or unwritable file or data_dir is exit 3, too
little free space exit 4.`,
		Example: `  crawler compact --config crawler.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runCompact(g)
		},
	}
}

func runCompact(g *globals) error {
	cfg, err := loadConfig(g.configPath)
	if err != nil {
		return err
	}
	res, err := store.Compact(cfg.DBPath(), 0)
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("compact needs the daemon stopped: %w", err)
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOTDIR) {
		return dataError{err} // an unwritable data_dir or crawl.db, or a data_dir that is a file
	}
	if err != nil {
		return err // exit.go maps missing and corrupt to 3
	}
	fmt.Fprintf(g.stdout, "compacted %s: %s -> %s (database file %s -> %s, value log %s -> %s)\n", cfg.DBPath(),
		humanBytes(res.Before), humanBytes(res.After), humanBytes(res.FileBefore), humanBytes(res.FileAfter),
		humanBytes(res.LogBefore), humanBytes(res.LogAfter))
	return nil
}

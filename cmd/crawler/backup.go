package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
)

func newBackupCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "backup --output DIR",
		Short: "Copy the crawl's database, consistent, while it runs or not",
		Long: `Backup writes a consistent copy of the crawl's database file and its value
log into DIR (created if needed; one that already holds a database, or that
another backup is writing into, is refused, and one that cannot be written
exits 3 with the partial copies removed). The running crawler makes the
copy itself, without stopping: the
database file is copied in one read transaction, and the value log up to the
end that transaction commits to (later pages only append past it). A stopped
crawl is copied from its file.

To restore, stop the crawler and copy the files in DIR into data_dir, in
place of what is there. "crawler check" on the copy (a config whose
data_dir is DIR) verifies it.`,
		Example: `  crawler backup --output /backups/crawl-$(date +%F)`,
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output == "" {
				return usageErr(errors.New("backup: --output DIR is required"))
			}
			dir, err := filepath.Abs(output)
			if err != nil {
				return usageErr(fmt.Errorf("backup: --output: %w", err))
			}
			q, err := openQuerier(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			defer q.close()
			if same, _ := filepath.Abs(q.cfg.DataDir); same == dir {
				return usageErr(fmt.Errorf("backup: %s is the crawl's own data_dir", dir))
			}
			start := time.Now()
			info, err := q.Backup(cmd.Context(), dir)
			if err != nil {
				return queryErr(err)
			}
			fmt.Fprintf(g.stdout, "backed up %d pages from %s in %s:\n  %s (%s)\n", info.Pages, q.source,
				time.Since(start).Round(time.Millisecond), info.DB, humanBytes(info.DBBytes))
			if info.Values != "" {
				fmt.Fprintf(g.stdout, "  %s (%s)\n", info.Values, humanBytes(info.ValueBytes))
			}
			if info.Draining != "" { // taken while a reclaim was draining it
				fmt.Fprintf(g.stdout, "  %s (%s)\n", info.Draining, humanBytes(info.DrainingBytes))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "directory to write the copy into")
	return cmd
}

package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// globals are the flags every verb takes.
type globals struct {
	configPath string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
}

// Main runs the command line args and returns the process exit code. It
// does not call os.Exit, so tests run it in-process.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "crawler",
		Short: "A polite web crawler daemon that keeps every page in one bbolt file",
		Long: `crawler crawls a set of sites politely and keeps every page in an embedded
bbolt file (data_dir/crawl.db). It survives crashes and restarts without losing
a URL or a page. While "crawler run" is up, the other verbs query it through
its unix socket; when it is stopped, they read the file directly.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.configPath, "config", "crawler.yaml", "path of the YAML config file")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	root.AddCommand(
		newRunCmd(g),
		newPagesCmd(g),
		newSearchCmd(g),
		newStatsCmd(g),
		newHostsCmd(g),
		newQueueCmd(g),
		newSeedCmd(g),
		newRecrawlCmd(g),
		newPauseCmd(g),
		newResumeCmd(g),
		newExportCmd(g),
		newBackupCmd(g),
		newDemoCmd(g),
		newCheckCmd(g),
		newCompactCmd(g),
		newExtractCmd(g),
		newReloadCmd(g),
	)
	err := root.ExecuteContext(ctx)
	return exitCode(err, stderr)
}

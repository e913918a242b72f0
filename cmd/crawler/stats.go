package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newStatsCmd is a placeholder until the verb lands.
func newStatsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "stats",
		Short:  "(not implemented yet)",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("stats: not implemented yet") },
	}
}

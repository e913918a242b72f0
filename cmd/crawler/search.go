package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newSearchCmd is a placeholder until the verb lands.
func newSearchCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "search",
		Short:  "(not implemented yet)",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("search: not implemented yet") },
	}
}

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newPagesCmd is a placeholder until the verb lands.
func newPagesCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "pages",
		Short:  "(not implemented yet)",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("pages: not implemented yet") },
	}
}

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCheckCmd is a placeholder until the verb lands.
func newCheckCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "check",
		Short:  "(not implemented yet)",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("check: not implemented yet") },
	}
}

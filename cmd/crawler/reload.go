package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newReloadCmd is a placeholder until the verb lands.
func newReloadCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "reload",
		Short:  "(not implemented yet)",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("reload: not implemented yet") },
	}
}

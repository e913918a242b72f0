package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newSeedCmd is a placeholder until the verb lands.
func newSeedCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "seed",
		Short:  "(not implemented yet)",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("seed: not implemented yet") },
	}
}

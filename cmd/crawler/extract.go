package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newExtractCmd is a placeholder until the verb lands.
func newExtractCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "extract",
		Short:  "(not implemented yet)",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("extract: not implemented yet") },
	}
}

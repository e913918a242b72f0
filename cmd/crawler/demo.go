package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newDemoCmd is a placeholder until the verb lands.
func newDemoCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "demo",
		Short:  "(not implemented yet)",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("demo: not implemented yet") },
	}
}

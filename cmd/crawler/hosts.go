package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newHostsCmd is a placeholder until the verb lands.
func newHostsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "hosts",
		Short:  "(not implemented yet)",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("hosts: not implemented yet") },
	}
}

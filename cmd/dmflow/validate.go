package main

import (
	"context"
	"flag"
	"fmt"
)

// TODO(owner): replace this placeholder with the real command.
func validateCmd() *Command {
	return &Command{
		Name:    "validate",
		Summary: "(not built yet)",
		Usage:   "dmflow validate",
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, io IO) int {
			fmt.Fprintln(io.Err, "dmflow validate: not built yet")
			return exitFail
		},
	}
}

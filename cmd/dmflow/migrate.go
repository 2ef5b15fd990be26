package main

import (
	"context"
	"flag"
	"fmt"
)

// TODO(owner): replace this placeholder with the real command.
func migrateCmd() *Command {
	return &Command{
		Name:    "migrate",
		Summary: "(not built yet)",
		Usage:   "dmflow migrate",
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, io IO) int {
			fmt.Fprintln(io.Err, "dmflow migrate: not built yet")
			return exitFail
		},
	}
}

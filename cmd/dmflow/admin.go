package main

import (
	"context"
	"flag"
	"fmt"
)

// TODO(owner): replace this placeholder with the real command.
func adminCmd() *Command {
	return &Command{
		Name:    "admin",
		Summary: "(not built yet)",
		Usage:   "dmflow admin",
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, io IO) int {
			fmt.Fprintln(io.Err, "dmflow admin: not built yet")
			return exitFail
		},
	}
}

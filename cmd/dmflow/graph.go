package main

import (
	"context"
	"flag"
	"fmt"
)

// TODO(owner): replace this placeholder with the real command.
func graphCmd() *Command {
	return &Command{
		Name:    "graph",
		Summary: "(not built yet)",
		Usage:   "dmflow graph",
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, io IO) int {
			fmt.Fprintln(io.Err, "dmflow graph: not built yet")
			return exitFail
		},
	}
}

package main

import (
	"context"
	"flag"
	"fmt"
)

// TODO(owner): replace this placeholder with the real command.
func benchCmd() *Command {
	return &Command{
		Name:    "bench",
		Summary: "(not built yet)",
		Usage:   "dmflow bench",
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, io IO) int {
			fmt.Fprintln(io.Err, "dmflow bench: not built yet")
			return exitFail
		},
	}
}

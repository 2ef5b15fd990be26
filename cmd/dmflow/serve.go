package main

import (
	"context"
	"flag"
	"fmt"
)

// TODO(owner): replace this placeholder with the real command.
func serveCmd() *Command {
	return &Command{
		Name:    "serve",
		Summary: "(not built yet)",
		Usage:   "dmflow serve",
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, io IO) int {
			fmt.Fprintln(io.Err, "dmflow serve: not built yet")
			return exitFail
		},
	}
}

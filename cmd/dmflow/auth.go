package main

import (
	"context"
	"flag"
	"fmt"
)

// TODO(owner): replace this placeholder with the real command.
func authCmd() *Command {
	return &Command{
		Name:    "auth",
		Summary: "(not built yet)",
		Usage:   "dmflow auth",
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, io IO) int {
			fmt.Fprintln(io.Err, "dmflow auth: not built yet")
			return exitFail
		},
	}
}

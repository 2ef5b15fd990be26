package main

import (
	"context"
	"flag"
	"fmt"
)

// TODO(owner): replace this placeholder with the real command.
func chatCmd() *Command {
	return &Command{
		Name:    "chat",
		Summary: "(not built yet)",
		Usage:   "dmflow chat",
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, io IO) int {
			fmt.Fprintln(io.Err, "dmflow chat: not built yet")
			return exitFail
		},
	}
}

package main

import (
	"context"
	"flag"
	"fmt"
)

// TODO(owner): replace this placeholder with the real command.
func testCmd() *Command {
	return &Command{
		Name:    "test",
		Summary: "(not built yet)",
		Usage:   "dmflow test",
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, io IO) int {
			fmt.Fprintln(io.Err, "dmflow test: not built yet")
			return exitFail
		},
	}
}

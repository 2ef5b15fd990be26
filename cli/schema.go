package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/dmflow/dmflow/flows/schema"
)

// schemaCmd prints a JSON Schema of flows/schema (wiring only).
func schemaCmd() *Command {
	return &Command{
		Name:    "schema",
		Summary: "print the JSON Schema of flow files or transcripts (for editors)",
		Usage: `Usage: dmflow schema [flow|transcript]

Prints the JSON Schema (draft-07) of flow files (default) or of
conversation transcripts (*.test.yaml), for yaml-language-server (VS Code,
Neovim, JetBrains): completion, hover text and inline errors. See
docs/testing.md, "Editor support".`,
		Run: func(_ context.Context, fs *flag.FlagSet, args []string, io IO) int {
			if code, ok := parseFlags(fs, args); !ok {
				return code
			}
			name := "flow"
			switch fs.NArg() {
			case 0:
			case 1:
				name = fs.Arg(0)
			default:
				fmt.Fprintln(io.Err, "dmflow schema: takes at most one argument: flow or transcript")
				return exitUsage
			}
			if err := schema.Write(io.Out, name); err != nil {
				fmt.Fprintf(io.Err, "dmflow schema: %v\n", err)
				return exitUsage
			}
			return exitOK
		},
	}
}

package cli

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dmflow/dmflow/flowtest"
)

func graphCmd(o *Options) *Command {
	var format, flowName *string
	return &Command{
		Name:    "graph",
		Summary: "print a flow's state diagram (Mermaid or Graphviz dot)",
		Usage: `Usage: dmflow graph [--format mermaid|dot] [--flow NAME] FLOW|DIR

Prints the state machine the engine compiled from the flow: every state and
every transition it can take. Pipe it to mmdc or dot to draw it.`,
		Flags: func(fs *flag.FlagSet) {
			format = fs.String("format", "mermaid", "output format: mermaid or dot")
			flowName = fs.String("flow", "", "the flow of the bundle to draw (default: the main flow)")
		},
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, io IO) int {
			if code, ok := parseFlags(fs, args); !ok {
				return code
			}
			if *format != "mermaid" && *format != "dot" {
				fmt.Fprintf(io.Err, "dmflow graph: --format %q: want mermaid or dot\n", *format)
				return exitUsage
			}
			if fs.NArg() == 0 {
				fmt.Fprintln(io.Err, "dmflow graph: name a flow file or directory")
				return exitUsage
			}
			eng, _, err := flowtest.LoadOne(o.Flows, fs.Args())
			if err != nil {
				return exitFor(io.Err, "graph", err)
			}
			if *flowName != "" && eng.Flow(*flowName) == nil {
				fmt.Fprintf(io.Err, "dmflow graph: no flow %q in the bundle (have: %s)\n", *flowName, strings.Join(slices.Sorted(maps.Keys(eng.Bundle().Flows)), ", "))
				return exitUsage
			}
			out, err := eng.Graph(*flowName, *format)
			if err != nil {
				fmt.Fprintf(io.Err, "dmflow graph: %v\n", err)
				return exitFail
			}
			fmt.Fprint(io.Out, strings.TrimRight(out, "\n")+"\n")
			return exitOK
		},
	}
}

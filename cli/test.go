package cli

import (
	"context"
	"flag"
	"fmt"
	"regexp"

	"github.com/dmflow/dmflow/flowtest"
	"github.com/dmflow/dmflow/internal/english"
)

func testCmd(o *Options) *Command {
	var verbose *bool
	var runRE *string
	return &Command{
		Name:    "test",
		Summary: "run conversation transcripts (*.test.yaml) against flows",
		Usage: `Usage: dmflow test [-v] [--run REGEX] FILE|DIR...

Runs every transcript (*.test.yaml; directories are searched recursively)
against the real engine in memory with a fake clock, prints each failing
step with a want/got diff, then the state and transition coverage of every
flow. Exits 1 when a transcript fails. The format is in docs/testing.md.`,
		Flags: func(fs *flag.FlagSet) {
			verbose = fs.Bool("v", false, "print passing transcripts and the transitions never taken")
			runRE = fs.String("run", "", "run only transcripts whose \"file: name\" matches this regular expression")
		},
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, io IO) int {
			if code, ok := parseFlags(fs, args); !ok {
				return code
			}
			if fs.NArg() == 0 {
				fmt.Fprintln(io.Err, "dmflow test: name at least one transcript file or directory")
				return exitUsage
			}
			re, err := regexp.Compile(*runRE)
			if err != nil {
				fmt.Fprintf(io.Err, "dmflow test: --run: %v\n", err)
				return exitUsage
			}
			return runTests(ctx, fs.Args(), re, *verbose, o.testOptions(), io)
		},
	}
}

func runTests(ctx context.Context, args []string, re *regexp.Regexp, verbose bool, o *flowtest.Options, stdio IO) int {
	files, err := flowtest.FindTranscripts(args)
	if err != nil {
		return exitFor(stdio.Err, "test", err)
	}
	opts := *o
	opts.Run = re
	r := flowtest.NewRunner(&opts)
	passed, failed, steps, bad := 0, 0, 0, 0
	for _, f := range files {
		results, err := r.RunFile(ctx, f)
		if err != nil {
			fmt.Fprintln(stdio.Err, err)
			bad++
			continue
		}
		for _, res := range results {
			steps += res.Steps
			switch {
			case res.Failure != "":
				failed++
				fmt.Fprint(stdio.Out, res)
			case verbose:
				passed++
				fmt.Fprint(stdio.Out, res)
			default:
				passed++
			}
		}
	}
	total := passed + failed
	switch {
	case failed > 0 || bad > 0:
		fmt.Fprintf(stdio.Out, "FAIL %d of %s failed", failed, english.Plural(total, "transcript"))
		if bad > 0 {
			fmt.Fprintf(stdio.Out, ", %s could not be read", english.Plural(bad, "file"))
		}
		fmt.Fprintln(stdio.Out)
	case total == 0:
		fmt.Fprintln(stdio.Err, "dmflow test: no transcript matched --run")
		return exitFail
	default:
		fmt.Fprintf(stdio.Out, "ok   %s, %s\n", english.Plural(total, "transcript"), english.Plural(steps, "step"))
	}
	r.PrintCoverage(stdio.Out, verbose)
	if failed > 0 || bad > 0 {
		return exitFail
	}
	return exitOK
}

package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"

	"github.com/dmflow/dmflow/engine"
)

func testCmd() *Command {
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
			return runTests(ctx, fs.Args(), re, *verbose, io)
		},
	}
}

func runTests(ctx context.Context, args []string, re *regexp.Regexp, verbose bool, stdio IO) int {
	files, err := findTranscripts(args)
	if err != nil {
		return exitFor(stdio.Err, "test", err)
	}
	r := &testRun{out: stdio.Out, verbose: verbose, engines: map[string]*engine.Engine{},
		defaults: map[*engine.Engine]map[string]any{}, cov: newCoverage()}
	bad := 0
	for _, f := range files {
		ts, err := readTranscripts(f)
		if err != nil {
			fmt.Fprintln(stdio.Err, err)
			bad++
			continue
		}
		for _, t := range ts {
			if re.MatchString(t.File + ": " + t.Name) {
				r.run(ctx, t)
			}
		}
	}
	return r.finish(bad, stdio)
}

func readTranscripts(file string) ([]*transcript, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parseTranscripts(file, src)
}

// finish prints the summary and coverage and returns the exit code.
func (r *testRun) finish(badFiles int, stdio IO) int {
	total := r.passed + r.failed
	switch {
	case r.failed > 0 || badFiles > 0:
		fmt.Fprintf(r.out, "FAIL %d of %s failed", r.failed, plural(total, "transcript"))
		if badFiles > 0 {
			fmt.Fprintf(r.out, ", %s could not be read", plural(badFiles, "file"))
		}
		fmt.Fprintln(r.out)
	case total == 0:
		fmt.Fprintln(stdio.Err, "dmflow test: no transcript matched --run")
		return exitFail
	default:
		fmt.Fprintf(r.out, "ok   %s, %s\n", plural(total, "transcript"), plural(r.steps, "step"))
	}
	r.cov.print(r.out, r.verbose)
	if r.failed > 0 || badFiles > 0 {
		return exitFail
	}
	return exitOK
}

// Package cli is the dmflow command line as a library: every `dmflow`
// command (validate, test, chat, graph, serve, admin, …) behind one call,
// so a program that registers its own expression helpers and Go actions
// builds a binary whose commands understand its flows:
//
//	func main() { os.Exit(cli.Main(os.Args, cli.Options{Flows: myflows.Options()})) }
//
// cmd/dmflow is exactly that call with no options.
//
// Exit codes: 0 success; 1 the checked thing failed (invalid flow, failing
// transcript, failed admin request); 2 usage or configuration error.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/flowtest"
)

// Exit codes shared by all commands.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// IO is a command's standard streams, so commands are testable in-process.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Env looks up environment variables (os.LookupEnv in main).
	Env func(string) (string, bool)
	// Environ lists the environment as KEY=value (os.Environ in main; nil
	// in tests that do not need it). Used to find every DMFLOW_SECRET_*.
	Environ func() []string
}

// Command is one `dmflow <name>` subcommand.
type Command struct {
	Name    string
	Summary string // one line for `dmflow help`
	Usage   string // full help text: synopsis, flags are appended
	// Run parses args with fs and runs. It returns an exit code.
	Run func(ctx context.Context, fs *flag.FlagSet, args []string, io IO) int
	// Flags declares the command's flags on fs before parsing (may be nil).
	Flags func(fs *flag.FlagSet)
}

func commands(o *Options) []*Command {
	cmds := []*Command{
		validateCmd(o), testCmd(o), chatCmd(o), graphCmd(o),
		serveCmd(o), authCmd(), adminCmd(o), migrateCmd(), benchCmd(), instagramCmd(), messengerCmd(), schemaCmd(),
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	return cmds
}

// Main runs the command named by args[1:] (args is os.Args) with the
// process's standard streams and environment until it ends or the process
// is interrupted (SIGINT, SIGTERM), and returns the exit code.
func Main(args []string, opts Options) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 {
		args = args[1:]
	}
	return Run(ctx, args, IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Env: os.LookupEnv, Environ: os.Environ}, opts)
}

// Run dispatches args (without the program name) to a command; tests and
// embedders that want other streams call it directly.
func Run(ctx context.Context, args []string, stdio IO, opts Options) int {
	return dispatch(ctx, args, stdio, &opts)
}

// Options are what an embedding program adds to every command. The zero
// value is the plain dmflow binary.
type Options struct {
	// Flows declares the program's expression helpers (Funcs) and Go
	// action signatures (Actions) to every command that loads flows:
	// validate, test, chat, graph, serve, admin stranded.
	Flows *flows.Options
	// Actions are the program's Go actions: serve runs them, test runs the
	// ones a transcript does not mock, chat runs them with --actions real.
	Actions *actions.Registry
}

// testOptions is how test runs transcripts with o.
func (o *Options) testOptions() *flowtest.Options {
	return &flowtest.Options{Flows: o.Flows, Actions: o.Actions}
}

// run dispatches to a subcommand of the plain binary; tests call it directly.
func run(ctx context.Context, args []string, stdio IO) int {
	return dispatch(ctx, args, stdio, &Options{})
}

func dispatch(ctx context.Context, args []string, stdio IO, o *Options) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c := find(args[1], o); c != nil {
				printUsage(c, stdio.Out)
				return exitOK
			}
		}
		printHelp(stdio.Out, o)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c := find(args[0], o)
	if c == nil {
		fmt.Fprintf(stdio.Err, "dmflow: unknown command %q (see 'dmflow help')\n", args[0])
		return exitUsage
	}
	fs := flag.NewFlagSet("dmflow "+c.Name, flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() { printUsage(c, stdio.Err) }
	if c.Flags != nil {
		c.Flags(fs)
	}
	return c.Run(ctx, fs, args[1:], stdio)
}

func find(name string, o *Options) *Command {
	for _, c := range commands(o) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func printHelp(w io.Writer, o *Options) {
	fmt.Fprintln(w, "dmflow — Instagram DM chatbots from YAML flow files.")
	fmt.Fprintln(w, "\nUsage: dmflow <command> [flags] [args]\n\nCommands:")
	for _, c := range commands(o) {
		fmt.Fprintf(w, "  %-10s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintln(w, "\nRun 'dmflow <command> --help' for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 check/test/request failed, 2 usage or configuration error.")
}

func printUsage(c *Command, w io.Writer) {
	fmt.Fprintf(w, "%s\n\n", c.Usage)
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	if c.Flags != nil {
		c.Flags(fs)
	}
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// parseFlags parses args, handling -h/--help; ok=false means return code.
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

// exitFor reports a load error and returns the exit code: usage errors 2,
// everything else 1. Flow diagnostics print one per line.
func exitFor(w io.Writer, cmd string, err error) int {
	var list flows.ErrorList
	switch {
	case errors.As(err, &list):
		fmt.Fprintln(w, list.Error())
		return exitFail
	case errors.Is(err, flowtest.ErrUsage):
		fmt.Fprintf(w, "dmflow %s: %s\n", cmd, strings.TrimPrefix(err.Error(), "usage: "))
		return exitUsage
	}
	fmt.Fprintf(w, "dmflow %s: %v\n", cmd, err)
	return exitFail
}

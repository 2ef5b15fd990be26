// Command dmflow is the single dmflow binary: it checks, tests, draws and
// chats with flow files, and serves the bot.
//
// Exit codes: 0 success; 1 the checked thing failed (invalid flow, failing
// transcript, failed admin request); 2 usage or configuration error.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
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

func commands() []*Command {
	cmds := []*Command{
		validateCmd(), testCmd(), chatCmd(), graphCmd(),
		serveCmd(), authCmd(), adminCmd(), migrateCmd(), benchCmd(), instagramCmd(), schemaCmd(),
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	return cmds
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Env: os.LookupEnv, Environ: os.Environ})
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand; tests call it directly.
func run(ctx context.Context, args []string, stdio IO) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c := find(args[1]); c != nil {
				printUsage(c, stdio.Out)
				return exitOK
			}
		}
		printHelp(stdio.Out)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c := find(args[0])
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

func find(name string) *Command {
	for _, c := range commands() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "dmflow — Instagram DM chatbots from YAML flow files.")
	fmt.Fprintln(w, "\nUsage: dmflow <command> [flags] [args]\n\nCommands:")
	for _, c := range commands() {
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

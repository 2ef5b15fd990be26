package cli

import (
	"bufio"
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/flowtest"
	"github.com/dmflow/dmflow/store/bolt"
	"github.com/dmflow/dmflow/store/mem"
)

func chatCmd(opts *Options) *Command {
	var storeArg, user, now, actionMode, mockFile, channel *string
	return &Command{
		Name:    "chat",
		Summary: "talk to a flow in the terminal (real engine, fake clock)",
		Usage: `Usage: dmflow chat [--store mem|FILE.db] [--user ID] [--now RFC3339]
                   [--actions manual|real] [--mock FILE] [--channel C] FLOW|DIR

Runs the flow with the real engine and prints the bot's replies. Type a
message, the number of a chip or button to tap it, or a command (/help).
End of input or /quit exits.

Action calls are answered by a mock of the same name from --mock FILE (a
YAML mapping written like a transcript's mock:), else with --actions real
HTTP actions are made for real (${NAME} secrets from DMFLOW_SECRET_NAME in
the environment, as 'dmflow serve' does), else they wait for /result.

--channel instagram|messenger is the channel the user writes on
(event.channel); a reply it cannot render is marked "not delivered".`,
		Flags: func(fs *flag.FlagSet) {
			storeArg = fs.String("store", "mem", "where the session lives: mem, or a bbolt FILE.db (survives restarts)")
			user = fs.String("user", "user-1", "the user id (IGSID) to chat as")
			now = fs.String("now", "", "start the fake clock at this RFC 3339 time (default: now); only /advance moves it")
			actionMode = fs.String("actions", actionsManual, "manual: answer action calls with /result; real: make HTTP actions for real")
			mockFile = fs.String("mock", "", "YAML file of action mocks by name (as in transcripts), used before --actions")
			channel = fs.String("channel", flowtest.DefaultChannel, "the channel the user writes on: "+strings.Join(flowtest.ChannelNames(), ", "))
		},
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, io IO) int {
			if code, ok := parseFlags(fs, args); !ok {
				return code
			}
			start := time.Now().UTC().Truncate(time.Second)
			if *now != "" {
				t, err := time.Parse(time.RFC3339, *now)
				if err != nil {
					fmt.Fprintf(io.Err, "dmflow chat: --now: %v\n", err)
					return exitUsage
				}
				start = t
			}
			if fs.NArg() == 0 {
				fmt.Fprintln(io.Err, "dmflow chat: name a flow file or directory")
				return exitUsage
			}
			if !flowtest.KnownChannel(*channel) {
				fmt.Fprintf(io.Err, "dmflow chat: --channel %q: want %s\n", *channel, strings.Join(flowtest.ChannelNames(), ", "))
				return exitUsage
			}
			o := chatOptions{Store: *storeArg, User: *user, Now: start, Actions: *actionMode, Flows: opts.Flows, Go: opts.Actions, Channel: *channel}
			if o.Actions != actionsManual && o.Actions != actionsReal {
				fmt.Fprintf(io.Err, "dmflow chat: --actions %q: want manual or real\n", o.Actions)
				return exitUsage
			}
			if *mockFile != "" {
				m, err := flowtest.LoadMocks(*mockFile)
				if err != nil {
					fmt.Fprintf(io.Err, "dmflow chat: %v\n", err)
					return exitUsage
				}
				o.Mocks = m
			}
			return runChat(ctx, fs.Args(), o, io)
		},
	}
}

type chatOptions struct {
	Store   string
	User    string
	Now     time.Time
	Actions string                    // actionsManual or actionsReal
	Mocks   map[string]*flowtest.Mock // --mock, by action name
	Flows   *flows.Options            // the program's helpers and Go action signatures
	Go      *actions.Registry         // the program's Go actions (run with --actions real)
	Channel string                    // --channel: event.channel
}

// chat is one terminal session.
type chat struct {
	conv   *flowtest.Conversation
	out    io.Writer
	errw   io.Writer
	print  *flowtest.ReplyPrinter
	taps   []flowtest.Tappable // numbered chips of the last replies
	last   *flowtest.Outcome   // the last input's outcome, for /trace
	acts   *actionAnswerer
	echo   bool // echo input lines (stdin is not a terminal)
	prompt bool
}

func runChat(ctx context.Context, args []string, o chatOptions, stdio IO) int {
	eng, name, err := flowtest.LoadOne(o.Flows, args)
	if err != nil {
		return exitFor(stdio.Err, "chat", err)
	}
	st, err := openChatStore(o.Store)
	if err != nil {
		fmt.Fprintf(stdio.Err, "dmflow chat: %v\n", err)
		return exitUsage
	}
	defer st.Close()
	c, err := newChat(ctx, eng, st, o, stdio)
	if err != nil {
		fmt.Fprintf(stdio.Err, "dmflow chat: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdio.Out, "dmflow chat: flow %s (%s), user %s — /help for commands\n", eng.Bundle().Main, name, o.User)
	return c.loop(ctx, stdio.In)
}

func openChatStore(arg string) (dmflow.Store, error) {
	if arg == "" || arg == "mem" {
		return mem.New(nil), nil
	}
	return bolt.Open(arg, nil)
}

func newChat(ctx context.Context, eng *engine.Engine, st dmflow.Store, o chatOptions, stdio IO) (*chat, error) {
	c := &chat{out: stdio.Out, errw: stdio.Err, print: &flowtest.ReplyPrinter{W: stdio.Out, Prefix: "bot: ", Numbered: true}}
	c.acts = newActionAnswerer(o, stdio.Env)
	var err error
	c.conv, err = flowtest.NewConversation(ctx, flowtest.Config{Engine: eng, Key: dmflow.SessionKey{Account: "chat", User: o.User},
		Clock: o.Now, Store: st, Answer: c.acts.answer, Channel: o.Channel})
	if err != nil {
		return nil, err
	}
	c.prompt = isTerminal(stdio.In)
	c.echo = !c.prompt
	return c, nil
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// loop reads lines until EOF or /quit.
func (c *chat) loop(ctx context.Context, in io.Reader) int {
	sc := bufio.NewScanner(in)
	for {
		if c.prompt {
			fmt.Fprint(c.out, "you> ")
		}
		if !sc.Scan() {
			break
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if c.echo {
			fmt.Fprintf(c.out, "you> %s\n", line)
		}
		if quit := c.handle(ctx, line); quit {
			return exitOK
		}
		if ctx.Err() != nil {
			return exitOK
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(c.errw, "dmflow chat: read input: %v\n", err)
		return exitFail
	}
	return exitOK
}

// handle runs one input line; it reports whether to quit.
func (c *chat) handle(ctx context.Context, line string) bool {
	if strings.HasPrefix(line, "/") {
		return c.command(ctx, line)
	}
	if n, err := strconv.Atoi(line); err == nil && n >= 1 && n <= len(c.taps) {
		t := c.taps[n-1]
		c.send(ctx, &flowtest.Input{Kind: "tap", Title: t.Title})
		return false
	}
	c.send(ctx, &flowtest.Input{Kind: "user", Text: line})
	return false
}

// send runs an input through the engine and shows the outcome.
func (c *chat) send(ctx context.Context, in *flowtest.Input) {
	before := c.conv.Session().Clone()
	out, err := c.conv.Send(ctx, in)
	c.show(before, out, err)
	if in.Kind == "advance" {
		fmt.Fprintf(c.out, "-- clock now %s\n", c.conv.Now().Format(time.RFC3339))
	}
}

func (c *chat) show(before *dmflow.Session, out *flowtest.Outcome, err error) {
	if out != nil {
		c.last = out
		if len(out.Replies) > 0 {
			c.print.Reset()
			for i, o := range out.Replies {
				c.print.Print(o)
				if w := out.Windows[i]; !w.OK {
					fmt.Fprintf(c.out, "-- not delivered: %s\n", w.Text())
				}
				for _, why := range flowtest.Unrenderable(c.conv.Channel(), out.Replies[i:i+1]) {
					fmt.Fprintf(c.out, "-- not delivered: %s\n", strings.TrimPrefix(why, "reply 1: "))
				}
			}
			c.taps = c.print.Taps
		}
	}
	if err != nil {
		fmt.Fprintf(c.errw, "error: %v\n", err)
		return
	}
	c.status(before, out)
}

// status prints what changed besides replies, as "-- " lines.
func (c *chat) status(before *dmflow.Session, out *flowtest.Outcome) {
	after := c.conv.Session()
	quiet := len(out.Replies) == 0
	for _, note := range c.acts.take() {
		fmt.Fprintln(c.out, note)
		quiet = false
	}
	for _, call := range out.Pending {
		fmt.Fprintf(c.out, "-- action %s: %s (answer with /result ok {json}, /result error or /result timeout)\n", call.Name, flowtest.CallSummary(call))
		quiet = false
	}
	switch {
	case after != nil && after.Handoff != nil && (before == nil || before.Handoff == nil):
		fmt.Fprintf(c.out, "-- handed off to a person (%s); the bot stays silent until /release\n", cmp.Or(after.Handoff.Reason, after.Handoff.By))
	case before != nil && before.Handoff != nil && (after == nil || after.Handoff == nil):
		fmt.Fprintln(c.out, "-- handoff released: the bot is back")
	case after != nil && after.Ended && (before == nil || !before.Ended):
		fmt.Fprintln(c.out, "-- conversation ended; the next message starts again")
	case quiet && len(out.Trace) > 0: // an /advance that fired nothing has no trace
		fmt.Fprintln(c.out, "-- (no reply)")
	}
}

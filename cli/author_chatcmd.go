package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dmflow/dmflow/flowtest"
)

const chatHelp = `Type a message, or the number of a chip or button to tap it. Commands:
  /payload X [text]     quick-reply tap with payload X
  /postback X [title]   ice-breaker, menu or button postback
  /image URL            send an image (/attach TYPE URL for video, audio, file, share, reel)
  /comment text         comment on the account's post (answered by private reply)
  /story [URL]          mention the account in a story
  /storyreply text      reply to the account's story
  /react [emoji]        react to the bot's last message (/unreact removes it)
  /referral REF         open an ig.me link or ad with this ref
  /echo text            a person answers from the Instagram inbox (hands off)
  /read                 a seen receipt
  /result OUTCOME [JSON]  answer the pending action: ok {"status":"shipped"}, error, timeout
  /advance DURATION     move the clock (e.g. 1h, 25h) and fire due timers
  /trace                what the engine did in the last step
  /state  /vars         the session
  /reset  /release  /handoff  /move STATE   operator commands
  /help  /quit`

// command runs a slash command; it reports whether to quit.
func (c *chat) command(ctx context.Context, line string) bool {
	name, arg, _ := strings.Cut(strings.TrimPrefix(line, "/"), " ")
	arg = strings.TrimSpace(arg)
	first, rest, _ := strings.Cut(arg, " ")
	rest = strings.TrimSpace(rest)
	switch name {
	case "quit", "exit", "q":
		return true
	case "help", "h", "?":
		fmt.Fprintln(c.out, chatHelp)
	case "trace":
		c.printTrace()
	case "state":
		c.printState()
	case "vars":
		c.printVars()
	case "result":
		c.result(ctx, first, rest)
	default:
		in, err := chatInput(name, arg, first, rest)
		if err != nil {
			fmt.Fprintf(c.errw, "%v (see /help)\n", err)
			return false
		}
		c.send(ctx, in)
	}
	return false
}

// chatInput maps an input command to the transcript input it stands for.
func chatInput(name, arg, first, rest string) (*flowtest.Input, error) {
	need := func(what string) error {
		if arg == "" {
			return fmt.Errorf("/%s needs %s", name, what)
		}
		return nil
	}
	var in *flowtest.Input
	var err error
	switch name {
	case "payload":
		in, err = &flowtest.Input{Kind: "payload", Payload: first, Text: rest}, need("a payload")
	case "postback":
		in, err = &flowtest.Input{Kind: "postback", Payload: first, Title: rest}, need("a payload")
	case "image":
		in, err = &flowtest.Input{Kind: "attachment", Type: "image", URL: arg}, need("a URL")
	case "attach":
		in, err = &flowtest.Input{Kind: "attachment", Type: first, URL: rest}, need("TYPE URL")
	case "comment":
		in, err = &flowtest.Input{Kind: "comment", Text: arg}, need("the comment text")
	case "story":
		in = &flowtest.Input{Kind: "story_mention", URL: arg}
	case "storyreply":
		in, err = &flowtest.Input{Kind: "story_reply", Text: arg}, need("the reply text")
	case "react":
		in = &flowtest.Input{Kind: "reaction", Text: arg}
	case "unreact":
		in = &flowtest.Input{Kind: "reaction", Action: "unreact"}
	case "referral":
		in, err = &flowtest.Input{Kind: "referral", Ref: arg}, need("a ref")
	case "echo":
		in, err = &flowtest.Input{Kind: "echo", Text: arg}, need("the agent's text")
	case "read":
		in = &flowtest.Input{Kind: "read"}
	case "advance":
		in, err = advanceInput(arg)
	case "reset", "release", "handoff":
		in = &flowtest.Input{Kind: "admin", Type: name}
	case "move":
		in, err = &flowtest.Input{Kind: "admin", Type: "move", State: arg}, need("a state")
	default:
		return nil, fmt.Errorf("unknown command /%s", name)
	}
	return in, err
}

func advanceInput(arg string) (*flowtest.Input, error) {
	d, err := time.ParseDuration(arg)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("/advance needs a positive duration like 90m or 25h")
	}
	return &flowtest.Input{Kind: "advance", After: d}, nil
}

// result answers the session's pending action call.
func (c *chat) result(ctx context.Context, outcomeName, body string) {
	s := c.conv.Session()
	if s == nil || s.Pending == nil {
		fmt.Fprintln(c.errw, "no action is pending")
		return
	}
	m, err := flowtest.NewMock(outcomeName, body)
	if err != nil {
		fmt.Fprintf(c.errw, "/result: %v\n", err)
		return
	}
	before := s.Clone()
	out, err := c.conv.Result(ctx, *s.Pending, m)
	c.show(before, out, err)
}

func (c *chat) printTrace() {
	if c.last == nil {
		fmt.Fprintln(c.out, "-- no step yet")
		return
	}
	for _, t := range c.last.Trace {
		parts := []string{fmt.Sprintf("  %-10s", t.What)}
		if t.Detail != "" {
			parts = append(parts, t.Detail)
		}
		if t.Expr != "" {
			parts = append(parts, fmt.Sprintf("%s => %v", t.Expr, t.Result))
		}
		if t.Pos != "" {
			parts = append(parts, "("+t.Pos+")")
		}
		fmt.Fprintln(c.out, strings.Join(parts, " "))
	}
}

func (c *chat) printState() {
	s := c.conv.Session()
	if s == nil {
		fmt.Fprintln(c.out, "-- no session yet (the first message starts one)")
		return
	}
	fmt.Fprintf(c.out, "-- flow %s v%d, state %q", s.Flow, s.FlowVersion, s.State)
	if s.Attempts > 0 {
		fmt.Fprintf(c.out, ", %d failed attempts", s.Attempts)
	}
	if s.Ended {
		fmt.Fprint(c.out, ", ended")
	}
	fmt.Fprintf(c.out, ", clock %s\n", c.conv.Now().Format(time.RFC3339))
	for _, f := range s.Stack {
		fmt.Fprintf(c.out, "   called from %s/%s\n", f.Flow, f.State)
	}
	for _, t := range s.Timers {
		fmt.Fprintf(c.out, "   timer %s due %s (in %s)\n", t.Name, t.Due.Format(time.RFC3339), t.Due.Sub(c.conv.Now()))
	}
	if h := s.Handoff; h != nil {
		fmt.Fprintf(c.out, "   handed off since %s by %s: %s\n", h.Since.Format(time.RFC3339), h.By, h.Reason)
	}
	if p := s.Pending; p != nil {
		fmt.Fprintf(c.out, "   waiting for action %s: %s\n", p.Name, flowtest.CallSummary(*p))
	}
}

func (c *chat) printVars() {
	s := c.conv.Session()
	if s == nil || len(s.Vars) == 0 {
		fmt.Fprintln(c.out, "-- no variables set")
		return
	}
	names := make([]string, 0, len(s.Vars))
	for k := range s.Vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(c.out, "   %s = %s\n", k, varText(s.Vars[k]))
	}
}

func varText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
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
func chatInput(name, arg, first, rest string) (*input, error) {
	need := func(what string) error {
		if arg == "" {
			return fmt.Errorf("/%s needs %s", name, what)
		}
		return nil
	}
	var in *input
	var err error
	switch name {
	case "payload":
		in, err = &input{Kind: "payload", Payload: first, Text: rest}, need("a payload")
	case "postback":
		in, err = &input{Kind: "postback", Payload: first, Title: rest}, need("a payload")
	case "image":
		in, err = &input{Kind: "attachment", Type: "image", URL: arg}, need("a URL")
	case "attach":
		in, err = &input{Kind: "attachment", Type: first, URL: rest}, need("TYPE URL")
	case "comment":
		in, err = &input{Kind: "comment", Text: arg}, need("the comment text")
	case "story":
		in = &input{Kind: "story_mention", URL: arg}
	case "storyreply":
		in, err = &input{Kind: "story_reply", Text: arg}, need("the reply text")
	case "react":
		in = &input{Kind: "reaction", Text: arg}
	case "unreact":
		in = &input{Kind: "reaction", Action: "unreact"}
	case "referral":
		in, err = &input{Kind: "referral", Ref: arg}, need("a ref")
	case "echo":
		in, err = &input{Kind: "echo", Text: arg}, need("the agent's text")
	case "read":
		in = &input{Kind: "read"}
	case "advance":
		in, err = advanceInput(arg)
	case "reset", "release", "handoff":
		in = &input{Kind: "admin", Type: name}
	case "move":
		in, err = &input{Kind: "admin", Type: "move", State: arg}, need("a state")
	default:
		return nil, fmt.Errorf("unknown command /%s", name)
	}
	return in, err
}

func advanceInput(arg string) (*input, error) {
	d, err := time.ParseDuration(arg)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("/advance needs a positive duration like 90m or 25h")
	}
	return &input{Kind: "advance", After: d}, nil
}

// result answers the session's pending action call.
func (c *chat) result(ctx context.Context, outcomeName, body string) {
	s := c.conv.sess
	if s == nil || s.Pending == nil {
		fmt.Fprintln(c.errw, "no action is pending")
		return
	}
	m := &mockSpec{Outcome: outcomeName, Status: map[string]int{"ok": 200, "error": 500}[outcomeName]}
	if !contains(outcomes, outcomeName) {
		fmt.Fprintln(c.errw, "/result needs an outcome: ok, error, timeout or invalid")
		return
	}
	if body != "" {
		if err := json.Unmarshal([]byte(body), &m.Body); err != nil {
			fmt.Fprintf(c.errw, "/result: body is not JSON: %v\n", err)
			return
		}
	}
	before := s.Clone()
	out, err := c.conv.result(ctx, *s.Pending, m)
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
	s := c.conv.sess
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
	fmt.Fprintf(c.out, ", clock %s\n", c.conv.now.Format(time.RFC3339))
	for _, f := range s.Stack {
		fmt.Fprintf(c.out, "   called from %s/%s\n", f.Flow, f.State)
	}
	for _, t := range s.Timers {
		fmt.Fprintf(c.out, "   timer %s due %s (in %s)\n", t.Name, t.Due.Format(time.RFC3339), t.Due.Sub(c.conv.now))
	}
	if h := s.Handoff; h != nil {
		fmt.Fprintf(c.out, "   handed off since %s by %s: %s\n", h.Since.Format(time.RFC3339), h.By, h.Reason)
	}
	if p := s.Pending; p != nil {
		fmt.Fprintf(c.out, "   waiting for action %s: %s\n", p.Name, callSummary(*p))
	}
}

func (c *chat) printVars() {
	s := c.conv.sess
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
		fmt.Fprintf(c.out, "   %s = %s\n", k, jsonText(s.Vars[k]))
	}
}

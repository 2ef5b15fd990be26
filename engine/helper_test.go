package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// load compiles YAML flow sources (one file each) into an engine.
func load(t testing.TB, srcs ...string) *engine.Engine {
	t.Helper()
	fsys := fstest.MapFS{}
	var names []string
	for i, src := range srcs {
		name := "f" + strconv.Itoa(i) + ".yaml"
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
		names = append(names, name)
	}
	b, err := flows.LoadFS(fsys, names...)
	if err != nil && (b == nil || hasErrors(err)) {
		t.Fatalf("load: %v", err)
	}
	e, err := engine.New(b, nil)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	return e
}

func hasErrors(err error) bool {
	var l flows.ErrorList
	if el, ok := err.(flows.ErrorList); ok {
		l = el
		return len(l.Errors()) > 0
	}
	return true
}

// conv is a conversation with one user: it feeds events one at a time and
// checks, for every step, that the input session is not mutated, that the
// step is deterministic, and that an engine without trace and notices (lean)
// and a step with the trace switched off per call reach the same outcome.
type conv struct {
	t    testing.TB
	e    *engine.Engine
	lean *engine.Engine
	s    *dmflow.Session
	now  time.Time
	n    int
	last *dmflow.Turn
}

func newConv(t testing.TB, e *engine.Engine) *conv {
	lean, err := engine.New(e.Bundle(), &engine.Options{NoTrace: true, NoNotices: true})
	if err != nil {
		t.Fatalf("lean engine: %v", err)
	}
	return &conv{t: t, e: e, lean: lean, now: t0}
}

func (c *conv) step(ev dmflow.Event) *dmflow.Turn {
	c.t.Helper()
	turn, err := c.try(ev)
	if err != nil {
		c.t.Fatalf("step %s: %v", ev.Key, err)
	}
	return turn
}

func (c *conv) try(ev dmflow.Event) (*dmflow.Turn, error) {
	c.t.Helper()
	c.n++
	if ev.Key == "" {
		ev.Key = "ev" + strconv.Itoa(c.n)
	}
	if ev.Account == "" {
		ev.Account, ev.User = "acct", "user1"
	}
	if ev.Time.IsZero() {
		ev.Time = c.now
	}
	before := mustJSON(c.t, c.s)
	turn, err := c.e.Step(context.Background(), c.s, ev, c.now)
	again, err2 := c.e.Step(context.Background(), c.s, ev, c.now)
	if after := mustJSON(c.t, c.s); after != before {
		c.t.Fatalf("step %s mutated its input session:\nbefore %s\nafter  %s", ev.Key, before, after)
	}
	if (err == nil) != (err2 == nil) || mustJSON(c.t, turn) != mustJSON(c.t, again) {
		c.t.Fatalf("step %s is not deterministic:\n%s\n%s", ev.Key, mustJSON(c.t, turn), mustJSON(c.t, again))
	}
	c.sameUntraced(ev, turn, err)
	if after := mustJSON(c.t, c.s); after != before {
		c.t.Fatalf("untraced step %s mutated its input session:\nbefore %s\nafter  %s", ev.Key, before, after)
	}
	if err != nil {
		return nil, err
	}
	c.last = turn
	if turn.Session != nil {
		c.s = turn.Session
		c.s.Version++ // what the store does on commit
	}
	return turn, nil
}

// sameUntraced checks that the step without trace (per call) and on the lean
// engine has the traced step's outcome: no trace, and no notices on lean.
func (c *conv) sameUntraced(ev dmflow.Event, traced *dmflow.Turn, err error) {
	c.t.Helper()
	want := ""
	if traced != nil {
		w := *traced
		w.Trace = nil
		want = mustJSON(c.t, w)
	}
	ctx := engine.WithTrace(context.Background(), false)
	for _, run := range []struct {
		name    string
		e       *engine.Engine
		notices bool
	}{{"WithTrace(false)", c.e, true}, {"lean", c.lean, false}} {
		turn, err2 := run.e.Step(ctx, c.s, ev, c.now)
		if fmt.Sprint(err) != fmt.Sprint(err2) {
			c.t.Fatalf("step %s %s: err = %v, traced %v", ev.Key, run.name, err2, err)
		}
		if turn == nil {
			continue
		}
		if len(turn.Trace) > 0 || (!run.notices && len(turn.Notices) > 0) {
			c.t.Fatalf("step %s %s: trace %d entries, notices %d", ev.Key, run.name, len(turn.Trace), len(turn.Notices))
		}
		if !run.notices && traced != nil {
			turn.Notices = traced.Notices // compared as if lean had them
		}
		if got := mustJSON(c.t, turn); got != want {
			c.t.Fatalf("step %s %s differs from the traced step:\n%s\n%s", ev.Key, run.name, got, want)
		}
	}
}

func mustJSON(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// say sends a text message and returns the texts of the replies.
func (c *conv) say(text string) []string {
	c.t.Helper()
	return texts(c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: text}))
}

// tap sends a quick-reply tap.
func (c *conv) tap(title, payload string) []string {
	c.t.Helper()
	return texts(c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: title, Payload: payload}))
}

func (c *conv) admin(op, state string) *dmflow.Turn {
	c.t.Helper()
	return c.step(dmflow.Event{Kind: dmflow.KindAdmin, Admin: &dmflow.AdminCommand{Op: op, State: state}})
}

// fire delivers the session's timer with the given name.
func (c *conv) fire(name string) *dmflow.Turn {
	c.t.Helper()
	for _, tm := range c.s.Timers {
		if tm.Name == name {
			c.now = tm.Due
			return c.step(dmflow.Event{Kind: dmflow.KindTimer, Timer: &dmflow.TimerFire{ID: tm.ID, Name: tm.Name, Due: tm.Due}})
		}
	}
	c.t.Fatalf("no timer %q in %+v", name, c.s.Timers)
	return nil
}

// texts renders replies compactly: the text, or "<kind>".
func texts(turn *dmflow.Turn) []string {
	var out []string
	for _, r := range turn.Replies {
		if r.Reply.Text != "" {
			out = append(out, r.Reply.Text)
		} else {
			out = append(out, "<"+string(r.Reply.Kind)+">")
		}
	}
	return out
}

func eq(t testing.TB, what string, got, want any) {
	t.Helper()
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Errorf("%s = %s, want %s", what, g, w)
	}
}

func (c *conv) state(want string) {
	c.t.Helper()
	if c.s == nil || c.s.State != want {
		got := "<nil>"
		if c.s != nil {
			got = c.s.Flow + "/" + c.s.State
		}
		c.t.Fatalf("state = %s, want %s\ntrace: %s", got, want, traceText(c.last))
	}
}

func traceText(t *dmflow.Turn) string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	for _, e := range t.Trace {
		b.WriteString("\n  " + e.What + " " + e.Pos + " " + e.Expr + " " + e.Detail)
		if e.Result != nil {
			b.WriteString(" => " + mustJSONQuiet(e.Result))
		}
	}
	return b.String()
}

func mustJSONQuiet(v any) string { b, _ := json.Marshal(v); return string(b) }

func hasTrace(turn *dmflow.Turn, what, substr string) bool {
	for _, e := range turn.Trace {
		if e.What == what && strings.Contains(e.Detail+" "+e.Expr, substr) {
			return true
		}
	}
	return false
}

func notices(turn *dmflow.Turn) []string {
	var out []string
	for _, n := range turn.Notices {
		out = append(out, n.Type)
	}
	return out
}

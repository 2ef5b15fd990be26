package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
)

// testRun runs transcripts and collects their results and coverage.
type testRun struct {
	out      io.Writer
	errw     io.Writer
	verbose  bool
	engines  map[string]*engine.Engine // by bundle paths
	defaults map[*engine.Engine]map[string]any
	cov      *coverage
	passed   int
	failed   int
	steps    int
}

// findTranscripts lists the *.test.yaml files named by args (directories are
// searched recursively, skipping hidden and testdata directories below them).
func findTranscripts(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		n := len(files)
		err := walkArg(a, func(f string) { files = append(files, f) }, func(dir string) error {
			entries, err := os.ReadDir(dir)
			for _, e := range entries {
				if !e.IsDir() && isTranscriptName(e.Name()) {
					files = append(files, filepath.Join(dir, e.Name()))
				}
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(files) == n {
			return nil, fmt.Errorf("%w: no transcripts (*.test.yaml) in %s", errUsage, a)
		}
	}
	return files, nil
}

func isTranscriptName(name string) bool {
	return strings.HasSuffix(name, ".test.yaml") || strings.HasSuffix(name, ".test.yml")
}

// engineFor loads (once) the bundle a transcript runs against.
func (r *testRun) engineFor(t *transcript) (*engine.Engine, error) {
	dir := filepath.Dir(t.File)
	paths := []string{dir}
	if len(t.Flows) > 0 {
		paths = make([]string, len(t.Flows))
		for i, f := range t.Flows {
			paths[i] = filepath.Join(dir, f)
		}
	}
	key := strings.Join(paths, "\x00")
	if e, ok := r.engines[key]; ok {
		return e, nil
	}
	e, err := loadEngine(paths...)
	if err != nil {
		return nil, err
	}
	r.engines[key] = e
	r.defaults[e] = varDefaults(e.Bundle())
	r.cov.add(e)
	return e, nil
}

// run runs one transcript and prints its result.
func (r *testRun) run(ctx context.Context, t *transcript) {
	e, err := r.engineFor(t)
	if err != nil {
		r.failed++
		fmt.Fprintf(r.out, "--- FAIL: %s: %s\n    flows do not load:\n%s\n", t.File, t.Name, indentLines(loadErrorText(err), "      "))
		return
	}
	var mocks map[string]*mockSpec
	users := &transcriptUsers{order: []string{t.UserID}, convs: map[string]*conversation{t.UserID: r.newConversation(e, t, t.UserID, &mocks)}}
	for i, s := range t.Steps {
		r.steps++
		mocks = s.Mocks
		who := orDefault(s.As, t.UserID)
		if users.convs[who] == nil {
			c := r.newConversation(e, t, who, &mocks)
			c.now = users.convs[t.UserID].now
			users.order, users.convs[who] = append(users.order, who), c
		}
		if msgs := r.step(ctx, users, who, s, r.defaults[e]); len(msgs) > 0 {
			r.failed++
			as := ""
			if s.As != "" {
				as = " as " + s.As
			}
			fmt.Fprintf(r.out, "--- FAIL: %s: %s\n    step %d at %s:%d%s: %s\n%s", t.File, t.Name, i+1, t.File, s.Line, as,
				describeInput(s.In), indentLines(strings.Join(msgs, "\n"), "      "))
			return
		}
	}
	r.passed++
	if r.verbose {
		fmt.Fprintf(r.out, "--- PASS: %s: %s (%s)\n", t.File, t.Name, plural(len(t.Steps), "step"))
	}
}

// transcriptUsers are the conversations of a transcript's users (`as:`),
// sharing one fake clock; order is by first appearance.
type transcriptUsers struct {
	order []string
	convs map[string]*conversation
}

// newConversation starts user's conversation in a transcript; *stepMocks
// holds the current step's mocks, consulted before the transcript's. Only
// the transcript's own user (user_id) gets its start, profile and flow.
func (r *testRun) newConversation(e *engine.Engine, t *transcript, user string, stepMocks *map[string]*mockSpec) *conversation {
	key := dmflow.SessionKey{Account: "test-account", User: user}
	c := &conversation{eng: e, key: key, now: t.Clock, onTurn: r.cov.visit(e)}
	if user == t.UserID && (t.Start != nil || t.Profile != nil || t.Flow != "") {
		f := e.Flow(t.Flow)
		s := &dmflow.Session{Key: key, Vars: map[string]any{}, Created: t.Clock, Updated: t.Clock, Version: 1}
		if f != nil {
			s.Flow, s.FlowVersion = f.Name, f.Version
		}
		if t.Start != nil {
			s.State = t.Start.State
			for k, v := range t.Start.Vars {
				s.Vars[k] = jsonValue(v)
			}
		}
		if t.Profile != nil {
			s.Profile = t.Profile.profile(t.Clock)
			c.platform = t.Profile.profile(t.Clock)
		}
		c.sess = s
	}
	c.answer = func(call dmflow.ActionCall) (*mockSpec, bool, error) {
		if m := (*stepMocks)[call.Name]; m != nil {
			return m, true, nil
		}
		if m := t.Mocks[call.Name]; m != nil {
			return m, true, nil
		}
		return nil, false, fmt.Errorf("action %q (%s) was called but has no mock; add `mock: {%s: {...}}` to the step or the transcript", call.Name, callSummary(call), call.Name)
	}
	return c
}

// step runs one step as user who and returns its mismatches (or its
// error). An input of one user moves the shared clock for all: `advance`
// fires every user's due timers; the expectations see who's outcome.
func (r *testRun) step(ctx context.Context, users *transcriptUsers, who string, s *step, defaults map[string]any) []string {
	c, out := users.convs[who], &outcome{}
	if s.Profile != nil {
		c.platform = s.Profile.profile(c.now)
	}
	if s.In != nil && s.In.Kind == "advance" {
		convs := make([]*conversation, len(users.order))
		for i, u := range users.order {
			convs[i] = users.convs[u]
		}
		outs, err := advanceAll(ctx, convs, s.In.After)
		if err != nil {
			return []string{"error: " + err.Error()}
		}
		out = outs[slices.Index(users.order, who)]
	} else if s.In != nil {
		var err error
		if out, err = c.send(ctx, s.In); err != nil {
			return []string{"error: " + err.Error()}
		}
		for _, u := range users.order {
			users.convs[u].now = c.now
		}
	}
	d := compareStep(&s.Want, c.sess, out, defaults)
	if len(d) > 0 && s.In != nil {
		d = append(d, "the bot sent:"+sentText(out.Replies, out.Windows))
	}
	return d
}

// compareStep checks the expectations against the session and outcome.
// Unset variables compare as their declared default (defaults).
func compareStep(w *expectations, sess *dmflow.Session, out *outcome, defaults map[string]any) diffs {
	var d diffs
	if w.BotSet {
		d.replies(w.Bot, out.Replies, out.Windows)
	}
	if sess == nil {
		sess = &dmflow.Session{}
	}
	d.str("state", w.State, sess.State)
	d.str("flow", w.Flow, sess.Flow)
	d.vars(w.Vars, sess.Vars, defaults)
	d.boolean("handoff", w.Handoff, sess.Handoff != nil)
	d.boolean("ended", w.Ended, sess.Ended)
	if w.Actions != nil {
		d.actions(w.Actions, out.Actions)
	}
	return d
}

// replies compares the replies with their expectations. A reply the
// messaging window refuses (windows[i], dmflow.CheckWindow) matches only an
// expectation written with `undelivered: true`, and such an expectation
// only a refused reply.
func (d *diffs) replies(want []*replyWant, got []dmflow.Outgoing, windows []dmflow.Window) {
	if len(want) != len(got) {
		d.add("bot: want %s, got %d", plural(len(want), "reply"), len(got))
	}
	for i := 0; i < len(want) && i < len(got); i++ {
		for _, m := range want[i].mismatches(got[i]) {
			d.add("bot[%d].%s", i, m)
		}
		w, undelivered := windows[i], want[i].Undelivered != nil && *want[i].Undelivered
		switch {
		case !w.OK && !undelivered:
			d.add("bot[%d]: not delivered: %s; serve dead-letters it (write `undelivered: true` if that is what you expect)", i, w.Text())
		case w.OK && undelivered:
			d.add("bot[%d].undelivered: want true, got false (the messaging window allows it)", i)
		}
	}
}

func (d *diffs) vars(want, got, defaults map[string]any) {
	for _, k := range sortedNames(want) {
		g, ok := got[k]
		if !ok {
			g, ok = defaults[k]
		}
		w, gj := jsonValue(want[k]), jsonValue(g)
		switch {
		case !ok:
			d.add("vars.%s: want %s, got (unset)", k, jsonText(w))
		case !reflect.DeepEqual(w, gj):
			d.add("vars.%s: want %s, got %s", k, jsonText(w), jsonText(gj))
		}
	}
}

func (d *diffs) actions(want []*actionWant, got []dmflow.ActionCall) {
	if d.count("actions", len(want), names(got, func(c dmflow.ActionCall) string { return c.Name })) {
		return
	}
	for i, w := range want {
		g := got[i]
		req := g.HTTP
		if req == nil {
			req = &dmflow.HTTPRequest{}
		}
		f := fmt.Sprintf("actions[%d].", i)
		d.str(f+"name", w.Name, g.Name)
		d.str(f+"kind", w.Kind, g.Kind)
		d.str(f+"method", w.Method, req.Method)
		d.str(f+"url", w.URL, req.URL.String())
		if w.URLMatches != nil && !matches(*w.URLMatches, req.URL.String()) {
			d.add("%surl_matches: %q does not match %q", f, *w.URLMatches, req.URL.String())
		}
		if w.Body != nil {
			var gb any
			_ = json.Unmarshal(req.Body, &gb)
			if !reflect.DeepEqual(jsonValue(w.Body), gb) {
				d.add("%sbody: want %s, got %s", f, jsonText(jsonValue(w.Body)), string(req.Body))
			}
		}
	}
}

// jsonValue normalizes a value to its JSON form (numbers become float64).
func jsonValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func sentText(rs []dmflow.Outgoing, windows []dmflow.Window) string {
	if len(rs) == 0 {
		return " nothing"
	}
	var b strings.Builder
	b.WriteByte('\n')
	p := &replyPrinter{W: &b, Prefix: "bot: "}
	for i, o := range rs {
		p.Print(o)
		if !windows[i].OK {
			fmt.Fprintf(&b, "%snot delivered: %s\n", indent, windows[i].Text())
		}
	}
	return strings.TrimRight(indentLines(b.String(), "  "), "\n")
}

func describeInput(in *input) string {
	if in == nil {
		return "(check only)"
	}
	switch in.Kind {
	case "advance":
		return "advance: " + in.After.String()
	case "payload", "postback":
		return in.Kind + ": " + in.Payload
	case "tap":
		return "tap: " + in.Title
	case "admin":
		return strings.TrimSpace("admin: " + in.Type + " " + in.State)
	case "referral":
		return "referral: " + in.Ref
	case "reaction":
		return strings.TrimSpace("reaction: " + orDefault(in.Action, "react") + " " + in.Title + in.Text)
	case "attachment", "story_mention":
		return in.Kind + ": " + in.URL
	}
	return fmt.Sprintf("%s: %q", in.Kind, in.Text)
}

func callSummary(c dmflow.ActionCall) string {
	if c.HTTP != nil {
		return c.HTTP.Method + " " + c.HTTP.URL.String()
	}
	return c.Kind
}

func indentLines(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func loadErrorText(err error) string { return err.Error() }

func matches(re, s string) bool {
	ok, err := regexp.MatchString(re, s)
	return ok && err == nil
}

// varDefaults maps every variable the bundle declares to its default value
// (the type's zero value when none is declared), in JSON form.
func varDefaults(b *flows.Bundle) map[string]any {
	zero := map[flows.VarType]any{flows.TypeString: "", flows.TypeInt: 0, flows.TypeFloat: 0, flows.TypeBool: false,
		flows.TypeTime: "", flows.TypeList: []any{}, flows.TypeMap: map[string]any{}}
	out := map[string]any{}
	for _, f := range b.Flows {
		for _, v := range f.Vars {
			if v.Default != nil {
				out[v.Name] = jsonValue(v.Default)
			} else {
				out[v.Name] = zero[v.Type]
			}
		}
	}
	return out
}

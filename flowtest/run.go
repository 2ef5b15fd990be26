package flowtest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/internal/english"
)

// Options configure loading and running transcripts.
type Options struct {
	// Flows declares the program's expression helpers and Go action
	// signatures to the loader, as its server does (nil: none).
	Flows *flows.Options
	// Actions runs the Go actions (`action: {go: name}`) a transcript does
	// not mock, for real (nil: every action call needs a mock).
	Actions *actions.Registry
	// Run selects the transcripts whose "file: name" matches (nil: all).
	Run *regexp.Regexp
}

// Result is the verdict on one transcript.
type Result struct {
	File, Name string
	Steps      int
	// Failure is empty when the transcript passed; else the report: the
	// failing step and its want/got diff, or why the flows did not load.
	Failure string
}

// String is the verdict as dmflow test prints it: a "--- FAIL" line and the
// report indented below it, or a "--- PASS" line.
func (r Result) String() string {
	if r.Failure != "" {
		return fmt.Sprintf("--- FAIL: %s: %s\n%s", r.File, r.Name, indentLines(r.Failure, "    "))
	}
	return fmt.Sprintf("--- PASS: %s: %s (%s)\n", r.File, r.Name, english.Plural(r.Steps, "step"))
}

// Runner runs transcripts, loading each bundle once, and collects the
// state and transition coverage of every flow it ran.
type Runner struct {
	opts     Options
	engines  map[string]*engine.Engine // by bundle paths
	defaults map[*engine.Engine]map[string]any
	cov      *coverage
}

// NewRunner returns a Runner; opts may be nil.
func NewRunner(opts *Options) *Runner {
	r := &Runner{engines: map[string]*engine.Engine{}, defaults: map[*engine.Engine]map[string]any{}, cov: newCoverage()}
	if opts != nil {
		r.opts = *opts
	}
	return r
}

// FindTranscripts lists the *.test.yaml files named by args (directories are
// searched recursively, skipping hidden and testdata directories below them).
func FindTranscripts(args []string) ([]string, error) {
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
			return nil, fmt.Errorf("%w: no transcripts (*.test.yaml) in %s", ErrUsage, a)
		}
	}
	return files, nil
}

func isTranscriptName(name string) bool {
	return strings.HasSuffix(name, ".test.yaml") || strings.HasSuffix(name, ".test.yml")
}

// RunFile runs the transcripts of file that Options.Run selects, in order.
// The error is a file that cannot be read or parsed (file:line:col).
func (r *Runner) RunFile(ctx context.Context, file string) ([]Result, error) {
	ts, err := readTranscripts(file)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, t := range ts {
		if r.opts.Run == nil || r.opts.Run.MatchString(t.File+": "+t.Name) {
			out = append(out, r.run(ctx, t))
		}
	}
	return out, nil
}

func readTranscripts(file string) ([]*transcript, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parseTranscripts(file, src)
}

// PrintCoverage writes one line per flow run so far: the states visited
// and transitions taken; verbose adds the transitions never taken.
func (r *Runner) PrintCoverage(w io.Writer, verbose bool) { r.cov.print(w, verbose) }

// engineFor loads (once) the bundle a transcript runs against.
func (r *Runner) engineFor(t *transcript) (*engine.Engine, error) {
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
	e, err := LoadEngine(r.opts.Flows, paths...)
	if err != nil {
		return nil, err
	}
	r.engines[key] = e
	r.defaults[e] = varDefaults(e.Bundle())
	r.cov.add(e)
	return e, nil
}

// run runs one transcript.
func (r *Runner) run(ctx context.Context, t *transcript) Result {
	res := Result{File: t.File, Name: t.Name}
	e, err := r.engineFor(t)
	if err != nil {
		res.Failure = "flows do not load:\n" + indentLines(err.Error(), "  ")
		return res
	}
	if t.Locale != "" && e.Bundle().Locales == nil {
		res.Failure = fmt.Sprintf("%s:%d: locale: the flows declare no locales (add `locales:` to the main flow)\n", t.File, t.Line)
		return res
	}
	var mocks map[string]*Mock
	users := &transcriptUsers{locale: e.Locale}
	for i, s := range t.Steps {
		res.Steps++
		mocks = s.Mocks
		who := cmp.Or(s.As, t.UserID)
		if err := r.join(ctx, users, e, t, who, &mocks); err != nil {
			res.Failure = fmt.Sprintf("step %d at %s:%d: %v\n", i+1, t.File, s.Line, err)
			return res
		}
		if msgs := r.step(ctx, users, who, s, r.defaults[e]); len(msgs) > 0 {
			as := ""
			if s.As != "" {
				as = " as " + s.As
			}
			res.Failure = fmt.Sprintf("step %d at %s:%d%s: %s\n%s", i+1, t.File, s.Line, as,
				describeInput(s.In), indentLines(strings.Join(msgs, "\n"), "  "))
			return res
		}
	}
	return res
}

// transcriptUsers are the conversations of a transcript's users (`as:`),
// sharing one fake clock; order is by first appearance.
type transcriptUsers struct {
	order  []string
	convs  map[string]*Conversation
	locale func(*dmflow.Session) string // the engine's Locale
}

// join starts who's conversation when it speaks first, at the shared
// clock's time; the transcript's own user (user_id) always goes first.
func (r *Runner) join(ctx context.Context, users *transcriptUsers, e *engine.Engine, t *transcript, who string, stepMocks *map[string]*Mock) error {
	if users.convs == nil {
		users.convs = map[string]*Conversation{}
		if err := r.join(ctx, users, e, t, t.UserID, stepMocks); err != nil {
			return err
		}
	}
	if users.convs[who] != nil {
		return nil
	}
	clock := t.Clock
	if len(users.order) > 0 {
		clock = users.convs[users.order[0]].now
	}
	c, err := NewConversation(ctx, r.config(e, t, who, clock, stepMocks))
	if err != nil {
		return err
	}
	users.order, users.convs[who] = append(users.order, who), c
	return nil
}

// config is user's conversation in a transcript; *stepMocks holds the
// current step's mocks, consulted before the transcript's, then the Go
// actions of Options.Actions. Only the transcript's own user (user_id)
// gets its start, profile and flow.
func (r *Runner) config(e *engine.Engine, t *transcript, user string, clock time.Time, stepMocks *map[string]*Mock) Config {
	key := dmflow.SessionKey{Account: "test-account", User: user}
	cfg := Config{Engine: e, Key: key, Clock: clock, OnTurn: r.cov.visit(e), Channel: t.Channel}
	if user == t.UserID && (t.Start != nil || t.Profile != nil || t.Flow != "" || t.Variants != nil || t.Locale != "") {
		f := e.Flow(t.Flow)
		s := &dmflow.Session{Key: key, Vars: map[string]any{}, Created: t.Clock, Updated: t.Clock}
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
			cfg.Platform = t.Profile.profile(t.Clock)
		}
		if t.Variants != nil {
			s.Variants = maps.Clone(t.Variants)
		}
		if l := e.Bundle().Locales; l != nil && t.Locale != "" {
			s.Vars[l.Var] = t.Locale // checked in run: the bundle has locales
		}
		cfg.Start = s
	}
	goActions := r.opts.Actions
	cfg.Answer = func(ctx context.Context, call dmflow.ActionCall) (*Mock, bool, error) {
		if m := (*stepMocks)[call.Name]; m != nil {
			return m, true, nil
		}
		if m := t.Mocks[call.Name]; m != nil {
			return m, true, nil
		}
		if call.Kind == "go" && goActions != nil && slices.Contains(goActions.Names(), call.Name) {
			m, err := MockOf(goActions.Run(ctx, call))
			return m, err == nil, err
		}
		return nil, false, fmt.Errorf("action %q (%s) was called but has no mock; add `mock: {%s: {...}}` to the step or the transcript", call.Name, CallSummary(call), call.Name)
	}
	return cfg
}

// MockOf turns an action runner's result into the Mock that feeds it back
// (chat's --actions real, unmocked Go actions).
func MockOf(res dmflow.ActionResult) (*Mock, error) {
	m := &Mock{Outcome: res.Outcome, Status: res.Status, Error: res.Error}
	if len(res.Body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(res.Body))
		dec.UseNumber() // re-encoded exactly by resultEvent
		if err := dec.Decode(&m.Body); err != nil {
			return nil, fmt.Errorf("action %s: response body: %w", res.Name, err)
		}
	}
	return m, nil
}

// step runs one step as user who and returns its mismatches (or its
// error). An input of one user moves the shared clock for all: `advance`
// fires every user's due timers; the expectations see who's outcome.
func (r *Runner) step(ctx context.Context, users *transcriptUsers, who string, s *step, defaults map[string]any) []string {
	c, out := users.convs[who], &Outcome{}
	if s.Profile != nil {
		c.SetPlatformProfile(s.Profile.profile(c.Now()))
	}
	if s.In != nil && s.In.Kind == "advance" {
		convs := make([]*Conversation, len(users.order))
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
		if out, err = c.Send(ctx, s.In); err != nil {
			return []string{"error: " + err.Error()}
		}
		for _, u := range users.order {
			users.convs[u].now = c.now
		}
	}
	d := compareStep(&s.Want, c.sess, out, defaults)
	d = append(d, Unrenderable(c.Channel(), out.Replies)...)
	if s.Want.Locale != nil && users.locale != nil {
		d.str("locale", s.Want.Locale, users.locale(c.sess))
	}
	if len(d) > 0 && s.In != nil {
		d = append(d, "the bot sent:"+sentText(out.Replies, out.Windows))
	}
	return d
}

// compareStep checks the expectations against the session and outcome.
// Unset variables compare as their declared default (defaults).
func compareStep(w *expectations, sess *dmflow.Session, out *Outcome, defaults map[string]any) diffs {
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
		d.add("bot: want %s, got %d", english.Plural(len(want), "reply"), len(got))
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
	for _, k := range slices.Sorted(maps.Keys(want)) {
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
	p := &ReplyPrinter{W: &b, Prefix: "bot: "}
	for i, o := range rs {
		p.Print(o)
		if !windows[i].OK {
			fmt.Fprintf(&b, "%snot delivered: %s\n", indent, windows[i].Text())
		}
	}
	return strings.TrimRight(indentLines(b.String(), "  "), "\n")
}

func describeInput(in *Input) string {
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
		return strings.TrimSpace("reaction: " + cmp.Or(in.Action, "react") + " " + in.Title + in.Text)
	case "attachment", "story_mention":
		return in.Kind + ": " + in.URL
	}
	return fmt.Sprintf("%s: %q", in.Kind, in.Text)
}

// CallSummary describes an action call in a few words: "POST https://…" or its kind.
func CallSummary(c dmflow.ActionCall) string {
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

package flowtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"gopkg.in/yaml.v3"
)

// A transcript is one conversation test from a *.test.yaml file (one per
// YAML document). docs/testing.md is the user-facing reference of the format.
type transcript struct {
	File    string // path of the .test.yaml file
	Line    int    // line of the document
	Name    string
	Flows   []string // flow files or dirs, resolved against the file's dir
	Flow    string   // flow to start ("" = the bundle's main flow)
	UserID  string
	Profile *profileSpec
	Start   *startSpec
	Clock   time.Time
	Mocks   map[string]*Mock // by action name, for the whole transcript
	// Variants pins A/B variants (experiment → variant) for user_id, as if
	// a split had assigned them before the first step.
	Variants map[string]string
	// Locale is the user's locale at the start: the value of the bundle's
	// locale variable (flows.Locales.Var) in the main flow.
	Locale string
	// Channel is the channel the conversation is on (DefaultChannel, or
	// one adapters/channels knows): events carry it, replies must render
	// on it.
	Channel string
	Steps   []*step
}

// profileSpec is what Instagram's User Profile API answers for the user;
// unset fields are unknown.
type profileSpec struct {
	Username        string `yaml:"username"`
	Name            string `yaml:"name"`
	FollowsBusiness *bool  `yaml:"is_user_follow_business"`
	BusinessFollows *bool  `yaml:"is_business_follow_user"`
	FollowerCount   *int   `yaml:"follower_count"`
	Verified        *bool  `yaml:"is_verified_user"`
	ProfilePic      string `yaml:"profile_pic"`
}

var profileKeys = []string{"username", "name", "is_user_follow_business", "is_business_follow_user",
	"follower_count", "is_verified_user", "profile_pic"}

// profile returns the platform profile spec describes, fetched at now.
func (spec *profileSpec) profile(now time.Time) *dmflow.Profile {
	p := dmflow.Profile{Username: spec.Username, Name: spec.Name, FollowsBusiness: spec.FollowsBusiness,
		BusinessFollows: spec.BusinessFollows, FollowerCount: spec.FollowerCount, Verified: spec.Verified,
		ProfilePic: spec.ProfilePic, Fetched: now}
	p = p.Clone()
	return &p
}

// startSpec positions the session before the first step (no enter phase runs).
type startSpec struct {
	State string         `yaml:"state"`
	Vars  map[string]any `yaml:"vars"`
}

// Mock answers an action call. Written as a map with an `outcome` key it
// is the whole result; any other map is the JSON body of an ok result.
type Mock struct {
	Outcome string
	Status  int
	Body    any
	Error   string
}

// step is one line of the conversation: at most one input, then expectations.
type step struct {
	Line, Col int
	// As is the user the step speaks as and checks ("" = the transcript's
	// user_id); each user has a session of its own.
	As string
	// Profile, when set, is what Instagram answers for the user's profile
	// from this step on (e.g. after they followed the account); the session
	// sees it when the bot would fetch it (bot.ProfileDue).
	Profile *profileSpec
	In      *Input // nil: expectations only
	Mocks   map[string]*Mock
	Want    expectations
}

// input is something that happens to the conversation. Kind names the key it
// was written with; the event is built by eventFor.
type Input struct {
	Kind    string // user payload tap postback attachment comment story_mention story_reply reaction referral echo read admin event advance handover standby
	Text    string
	Payload string
	Title   string
	Type    string // attachment type, admin op
	URL     string
	ID      string // comment id, story id, ad id
	MediaID string
	Caption string // comment: the media's caption, when the flow looks it up
	Ref     string
	Source  string
	Action  string // reaction: react | unreact
	State   string // admin move target
	After   time.Duration
	Raw     map[string]any // event: free-form dmflow.Event
}

// expectations are compared after the step; nil fields are not checked.
type expectations struct {
	Bot     []*replyWant // nil: not checked
	BotSet  bool         // bot or no_reply was written
	State   *string
	Flow    *string
	Vars    map[string]any
	Handoff *bool
	Ended   *bool
	Actions []*actionWant
	// Locale is the locale the user's texts render in after the step
	// (engine.Engine.Locale).
	Locale *string
}

// replyWant matches one reply; only the fields written are compared.
type replyWant struct {
	Line         int
	Kind         *string
	Text         *string
	TextMatches  *regexp.Regexp
	TextContains *string
	QuickReplies []chipWant // nil: not checked
	QRSet        bool
	Buttons      []chipWant
	ButtonsSet   bool
	Cards        []cardWant
	CardsSet     bool
	Media        []mediaWant
	MediaSet     bool
	Heart        *bool
	Share        *string
	Typing       *string
	Seen         *bool
	React        *string
	Private      *bool
	// Undelivered: the messaging window refuses the reply (serve
	// dead-letters it); compared by diffs.replies, not mismatches.
	Undelivered *bool
	// PublicReply and Moderate match a public comment reply's text and a
	// moderation action (hide, unhide, delete).
	PublicReply *string
	Moderate    *string
	// Thread matches a thread-control change (pass, take, release, request).
	Thread *string
}

// chipWant matches a quick reply or a button: a bare string is its title.
type chipWant struct {
	Title   *string `yaml:"title"`
	Payload *string `yaml:"payload"`
	Type    *string `yaml:"type"`
	URL     *string `yaml:"url"`
}

type cardWant struct {
	Title    *string    `yaml:"title"`
	Subtitle *string    `yaml:"subtitle"`
	Image    *string    `yaml:"image"`
	URL      *string    `yaml:"url"`
	Buttons  []chipWant `yaml:"buttons"`
}

type mediaWant struct {
	Type         string
	URL          *string
	AttachmentID *string
}

// actionWant matches an action call the step made.
type actionWant struct {
	Name       *string `yaml:"name"`
	Kind       *string `yaml:"kind"`
	Method     *string `yaml:"method"`
	URL        *string `yaml:"url"`
	URLMatches *string `yaml:"url_matches"`
	Body       any     `yaml:"body"`
}

// defaultClock is the fake clock's start when a transcript sets none.
var defaultClock = time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)

// posError is an error at a position of a file, rendered file:line:col: msg.
type posError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *posError) Error() string { return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg) }

// tparser decodes one transcript file, collecting errors with positions.
type tparser struct {
	file string
	errs []error
}

func (p *tparser) errf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, &posError{File: p.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// parseTranscripts decodes every YAML document of a .test.yaml file.
func parseTranscripts(file string, src []byte) ([]*transcript, error) {
	p := &tparser{file: file}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var out []*transcript
	for i := 1; ; i++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		if t := p.transcript(doc.Content[0], i); t != nil {
			out = append(out, t)
		}
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	if len(out) == 0 {
		return nil, &posError{File: file, Line: 1, Col: 1, Msg: "no transcript in file"}
	}
	return out, nil
}

var transcriptKeys = []string{"name", "flows", "flow", "user_id", "profile", "start", "clock", "mock", "steps", "variants", "locale", "channel"}

func (p *tparser) transcript(n *yaml.Node, doc int) *transcript {
	if !p.mapping(n, "transcript", transcriptKeys) {
		return nil
	}
	t := &transcript{File: p.file, Line: n.Line, Clock: defaultClock, UserID: "user-1", Channel: DefaultChannel}
	t.Name = strings.TrimSuffix(filepath.Base(p.file), ".test.yaml")
	if doc > 1 {
		t.Name = fmt.Sprintf("%s#%d", t.Name, doc)
	}
	var steps *yaml.Node
	eachPair(n, func(k string, v *yaml.Node) {
		switch k {
		case "name":
			p.decode(v, &t.Name)
		case "flows":
			p.stringList(v, &t.Flows)
		case "flow":
			p.decode(v, &t.Flow)
		case "user_id":
			p.decode(v, &t.UserID)
		case "profile":
			if p.mapping(v, "profile", profileKeys) {
				t.Profile = new(profileSpec)
				p.decode(v, t.Profile)
			}
		case "start":
			if p.mapping(v, "start", []string{"state", "vars"}) {
				t.Start = new(startSpec)
				p.decode(v, t.Start)
			}
		case "clock":
			p.clock(v, &t.Clock)
		case "mock":
			t.Mocks = p.mocks(v)
		case "variants":
			if v.Kind != yaml.MappingNode {
				p.errf(v, "variants must be a mapping of experiment to variant")
				return
			}
			p.decode(v, &t.Variants)
		case "locale":
			p.decode(v, &t.Locale)
			if strings.TrimSpace(t.Locale) == "" {
				p.errf(v, "locale: want a locale such as en or es")
			}
		case "channel":
			p.decode(v, &t.Channel)
			if !KnownChannel(t.Channel) {
				p.errf(v, "channel: %q is not a channel (known: %s)", t.Channel, strings.Join(ChannelNames(), ", "))
			}
		case "steps":
			steps = v
		}
	})
	if steps == nil {
		p.errf(n, "transcript has no steps")
		return t
	}
	if steps.Kind != yaml.SequenceNode {
		p.errf(steps, "steps must be a list")
		return t
	}
	for _, s := range steps.Content {
		if st := p.step(s); st != nil {
			t.Steps = append(t.Steps, st)
		}
	}
	return t
}

// inputKeys are the step keys that make something happen; a step has at most one.
var inputKeys = []string{"user", "payload", "tap", "postback", "attachment", "comment", "story_mention",
	"story_reply", "reaction", "referral", "echo", "read", "admin", "event", "advance", "handover", "standby"}

var expectKeys = []string{"bot", "no_reply", "state", "flow", "vars", "handoff", "ended", "actions", "mock", "locale"}

func (p *tparser) step(n *yaml.Node) *step {
	if !p.mapping(n, "step", append(append([]string{"as", "profile"}, inputKeys...), expectKeys...)) {
		return nil
	}
	s := &step{Line: n.Line, Col: n.Column}
	eachPair(n, func(k string, v *yaml.Node) {
		if k == "as" {
			p.decode(v, &s.As)
			if strings.TrimSpace(s.As) == "" || strings.Contains(s.As, "/") {
				p.errf(v, "as: want a user id (no \"/\"), got %q", s.As)
			}
			return
		}
		if k == "profile" {
			if p.mapping(v, "profile", profileKeys) {
				s.Profile = new(profileSpec)
				p.decode(v, s.Profile)
			}
			return
		}
		if contains(inputKeys, k) {
			if s.In != nil {
				p.errf(v, "step has two inputs (%s and %s); split it into two steps", s.In.Kind, k)
				return
			}
			s.In = p.input(k, v)
			return
		}
		p.expect(&s.Want, s, k, v)
	})
	if s.In == nil && !s.Want.any() && s.Mocks == nil && s.Profile == nil {
		p.errf(n, "empty step")
	}
	return s
}

func (w *expectations) any() bool {
	return w.BotSet || w.State != nil || w.Flow != nil || w.Vars != nil || w.Handoff != nil || w.Ended != nil || w.Actions != nil || w.Locale != nil
}

func (p *tparser) expect(w *expectations, s *step, k string, v *yaml.Node) {
	switch k {
	case "bot":
		w.BotSet = true
		w.Bot = p.replies(v)
	case "no_reply":
		var b bool
		p.decode(v, &b)
		if !b {
			p.errf(v, "no_reply only takes true")
		}
		w.BotSet, w.Bot = true, []*replyWant{}
	case "state":
		w.State = p.str(v)
	case "flow":
		w.Flow = p.str(v)
	case "vars":
		if v.Kind != yaml.MappingNode {
			p.errf(v, "vars must be a mapping")
			return
		}
		p.decode(v, &w.Vars)
	case "handoff":
		w.Handoff = p.boolean(v)
	case "ended":
		w.Ended = p.boolean(v)
	case "locale":
		w.Locale = p.str(v)
	case "actions":
		w.Actions = p.actions(v)
	case "mock":
		s.Mocks = p.mocks(v)
	}
}

func (p *tparser) input(k string, v *yaml.Node) *Input {
	in := &Input{Kind: k}
	switch k {
	case "user", "echo", "story_mention", "tap", "standby":
		p.decode(v, scalarTarget(k, in))
	case "handover":
		p.decode(v, &in.Action)
		if !contains([]string{dmflow.ThreadPass, dmflow.ThreadTake, dmflow.ThreadRequest}, in.Action) {
			p.errf(v, "handover: want pass (the thread came back), take (another app took it) or request; got %q", in.Action)
		}
	case "payload", "postback":
		p.payload(v, in)
	case "attachment":
		p.fields(v, k, "type", map[string]*string{"type": &in.Type, "url": &in.URL, "text": &in.Text})
	case "comment":
		p.fields(v, k, "text", map[string]*string{"text": &in.Text, "id": &in.ID, "media_id": &in.MediaID, "username": &in.Title,
			"caption": &in.Caption, "permalink": &in.URL})
	case "story_reply":
		p.fields(v, k, "text", map[string]*string{"text": &in.Text, "story_id": &in.ID, "url": &in.URL})
	case "reaction":
		p.fields(v, k, "reaction", map[string]*string{"reaction": &in.Title, "emoji": &in.Text, "action": &in.Action})
	case "referral":
		p.fields(v, k, "ref", map[string]*string{"ref": &in.Ref, "source": &in.Source, "ad_id": &in.ID, "text": &in.Text})
	case "read":
		p.boolean(v)
	case "admin":
		p.admin(v, in)
	case "event":
		if v.Kind != yaml.MappingNode {
			p.errf(v, "event must be a mapping of dmflow.Event JSON fields")
		}
		p.decode(v, &in.Raw)
	case "advance":
		var s string
		p.decode(v, &s)
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			p.errf(v, "advance: want a positive duration like 90m or 25h, got %q", s)
		}
		in.After = d
	}
	return in
}

func scalarTarget(k string, in *Input) *string {
	switch k {
	case "story_mention":
		return &in.URL
	case "tap":
		return &in.Title
	}
	return &in.Text
}

// payload decodes `payload: X` or `payload: {payload: X, text: T}` (and
// `title` for postbacks).
func (p *tparser) payload(v *yaml.Node, in *Input) {
	p.fields(v, in.Kind, "payload", map[string]*string{"payload": &in.Payload, "text": &in.Text, "title": &in.Title})
}

// fields decodes a scalar into the field named short, or a mapping of string fields.
func (p *tparser) fields(v *yaml.Node, what, short string, fs map[string]*string) {
	if v.Kind == yaml.ScalarNode {
		p.decode(v, fs[short])
		return
	}
	keys := make([]string, 0, len(fs))
	for k := range fs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !p.mapping(v, what, keys) {
		return
	}
	eachPair(v, func(k string, val *yaml.Node) { p.decode(val, fs[k]) })
}

var adminOps = []string{"reset", "release", "handoff", "move", "locale"}

func (p *tparser) admin(v *yaml.Node, in *Input) {
	var s string
	p.decode(v, &s)
	op, arg, _ := strings.Cut(strings.TrimSpace(s), " ")
	in.Type, in.State = op, strings.TrimSpace(arg)
	switch {
	case !contains(adminOps, op):
		p.errf(v, "admin: want one of reset, release, handoff, move STATE, locale LOCALE; got %q", s)
	case op == "move" && in.State == "":
		p.errf(v, "admin: move needs a state: `admin: move menu`")
	case op == "locale" && in.State == "":
		p.errf(v, "admin: locale needs a locale: `admin: locale es`")
	case op != "move" && op != "locale" && in.State != "":
		p.errf(v, "admin: %s takes no argument", op)
	}
}

func (p *tparser) mocks(v *yaml.Node) map[string]*Mock {
	if v.Kind != yaml.MappingNode {
		p.errf(v, "mock must map action names to results")
		return nil
	}
	out := map[string]*Mock{}
	eachPair(v, func(name string, val *yaml.Node) { out[name] = p.mock(val) })
	return out
}

var outcomes = []string{"ok", "error", "timeout", "invalid"}

// NewMock is the result of an action with outcome (ok, error, timeout or
// invalid) and body (JSON; "" for none), as chat's /result writes it: ok
// has status 200, error 500.
func NewMock(outcome, body string) (*Mock, error) {
	if !contains(outcomes, outcome) {
		return nil, errors.New("want an outcome: ok, error, timeout or invalid")
	}
	m := &Mock{Outcome: outcome, Status: map[string]int{"ok": 200, "error": 500}[outcome]}
	if body != "" {
		if err := json.Unmarshal([]byte(body), &m.Body); err != nil {
			return nil, fmt.Errorf("body is not JSON: %w", err)
		}
	}
	return m, nil
}

func (p *tparser) mock(v *yaml.Node) *Mock {
	var m map[string]any
	if v.Kind != yaml.MappingNode {
		p.errf(v, "a mock is a mapping: the response body, or {outcome, status, body, error}")
		return &Mock{Outcome: "ok"}
	}
	p.decode(v, &m)
	if _, full := m["outcome"]; !full {
		return &Mock{Outcome: "ok", Status: 200, Body: m}
	}
	if !p.mapping(v, "mock", []string{"outcome", "status", "body", "error"}) {
		return &Mock{Outcome: "ok"}
	}
	var ms struct {
		Outcome string `yaml:"outcome"`
		Status  int    `yaml:"status"`
		Body    any    `yaml:"body"`
		Error   string `yaml:"error"`
	}
	p.decode(v, &ms)
	if !contains(outcomes, ms.Outcome) {
		p.errf(v, "mock outcome %q: want ok, error, timeout or invalid", ms.Outcome)
	}
	if ms.Status == 0 {
		ms.Status = map[string]int{"ok": 200, "error": 500}[ms.Outcome]
	}
	return &Mock{Outcome: ms.Outcome, Status: ms.Status, Body: ms.Body, Error: ms.Error}
}

func (p *tparser) actions(v *yaml.Node) []*actionWant {
	if v.Kind != yaml.SequenceNode {
		p.errf(v, "actions must be a list")
		return nil
	}
	out := []*actionWant{}
	for _, a := range v.Content {
		if p.mapping(a, "action", []string{"name", "kind", "method", "url", "url_matches", "body"}) {
			w := new(actionWant)
			p.decode(a, w)
			p.regexp(a, w.URLMatches)
			out = append(out, w)
		}
	}
	return out
}

func (p *tparser) clock(v *yaml.Node, t *time.Time) {
	var s string
	p.decode(v, &s)
	c, err := time.Parse(time.RFC3339, s)
	if err != nil {
		p.errf(v, "clock: want RFC 3339 time like 2025-01-06T09:00:00Z, got %q", s)
		return
	}
	*t = c
}

// mapping reports whether n is a mapping whose keys are all allowed.
func (p *tparser) mapping(n *yaml.Node, what string, allowed []string) bool {
	if n.Kind != yaml.MappingNode {
		p.errf(n, "%s must be a mapping", what)
		return false
	}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !contains(allowed, k.Value) {
			p.errf(k, "unknown %s key %q (want one of: %s)", what, k.Value, strings.Join(allowed, ", "))
			ok = false
		}
	}
	return ok
}

func (p *tparser) decode(n *yaml.Node, v any) {
	if n.Kind == yaml.AliasNode {
		p.errf(n, "aliases are not allowed")
		return
	}
	err := n.Decode(v)
	var ne *nodeError
	switch {
	case errors.As(err, &ne):
		p.errs = append(p.errs, &posError{File: p.file, Line: ne.Line, Col: ne.Col, Msg: ne.Msg})
	case err != nil:
		p.errf(n, "%s", strings.TrimPrefix(typeErrorText(err), "yaml: "))
	}
}

// typeErrorText drops yaml's "line N:" prefixes, since the position is ours.
func typeErrorText(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		if _, rest, ok := strings.Cut(m, ": "); ok && strings.HasPrefix(m, "line ") {
			m = rest
		}
		msgs[i] = m
	}
	return strings.Join(msgs, "; ")
}

func (p *tparser) str(n *yaml.Node) *string {
	s := new(string)
	p.decode(n, s)
	return s
}

func (p *tparser) boolean(n *yaml.Node) *bool {
	b := new(bool)
	p.decode(n, b)
	return b
}

func (p *tparser) stringList(n *yaml.Node, out *[]string) {
	if n.Kind == yaml.ScalarNode {
		*out = []string{n.Value}
		return
	}
	p.decode(n, out)
}

func (p *tparser) regexp(n *yaml.Node, src *string) *regexp.Regexp {
	if src == nil {
		return nil
	}
	re, err := regexp.Compile(*src)
	if err != nil {
		p.errf(n, "bad regexp %q: %v", *src, err)
	}
	return re
}

func eachPair(n *yaml.Node, fn func(k string, v *yaml.Node)) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		fn(n.Content[i].Value, n.Content[i+1])
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

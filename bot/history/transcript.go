package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"gopkg.in/yaml.v3"
)

// TranscriptOptions shape a recorded transcript.
type TranscriptOptions struct {
	// Name is the transcript's name (default "recorded conversation").
	Name string
	// UserID is the user the transcript speaks as (default user-1; the
	// recorded user's id is not written, it names a real person).
	UserID string
	// Flows, when set, is written as the transcript's `flows:` (paths
	// relative to where the file will live); default: the flows of the
	// file's directory.
	Flows []string
	// Profile is what Instagram told about the user (the session's cached
	// profile), so flows that greet by name say the same.
	Profile *dmflow.Profile
}

// Transcript writes a user's history (oldest first, with the replies each
// item's turn sent: dmflow.InboxItem.Replies) as a transcript that replays
// the conversation under `dmflow test`:
//
//   - the fake clock starts at the first event and each event happens at
//     the time it was received (an `advance` step moves the clock between
//     events and expects no reply, since no timer fired then);
//   - a timer that fired becomes an `advance` to its due time, expecting
//     what the timeout said;
//   - an action result becomes a step mock of the step whose turn called
//     the action ({outcome, status, body, error} as recorded), and what the
//     flow said after the result joins that step's replies;
//   - messages, quick-reply taps, postbacks, inbox echoes, reads and
//     operator commands become `user`, `payload`, `postback`, `echo`,
//     `read` and `admin` steps; any other event an `event:` step with its
//     fields; each step expects exactly the replies sent then (`no_reply`
//     when there were none), `undelivered: true` where the messaging window
//     refused them.
//
// Limits: messages that arrived while an action call was pending were held
// back live and are replayed after its result; the transcript answers the
// call at once. The history kept by the retention may start
// mid-conversation. Recorded texts are personal data: review the file
// before committing it.
func Transcript(items []dmflow.InboxItem, opts TranscriptOptions) ([]byte, error) {
	g := &gen{}
	for _, it := range items {
		if err := g.item(it); err != nil {
			return nil, fmt.Errorf("history: item %d: %w", it.Seq, err)
		}
	}
	if len(g.steps) == 0 {
		return nil, fmt.Errorf("history: nothing to record (no events in the history)")
	}
	t := tDoc{Name: text(opts.Name), Flows: opts.Flows, UserID: opts.UserID, Channel: g.channel,
		Clock: g.start.UTC().Format(time.RFC3339Nano), Steps: g.steps}
	if t.Name == "" {
		t.Name = "recorded conversation"
	}
	if t.UserID == "" {
		t.UserID = "user-1"
	}
	if p := opts.Profile; p != nil && (p.Username != "" || p.Name != "") {
		t.Profile = &tProfile{Username: text(p.Username), Name: text(p.Name)}
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Recorded by `dmflow admin history --transcript`: %d events replayed as %d steps.\n", g.events, len(g.steps))
	buf.WriteString("# Each step expects the replies sent then; run it with `dmflow test`.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(t); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// tDoc is a transcript in the order of docs/testing.md.
type tDoc struct {
	Name    text      `yaml:"name"`
	Flows   []string  `yaml:"flows,omitempty"`
	UserID  string    `yaml:"user_id"`
	Channel string    `yaml:"channel,omitempty"`
	Profile *tProfile `yaml:"profile,omitempty"`
	Clock   string    `yaml:"clock"`
	Steps   []*tStep  `yaml:"steps"`
}

type tProfile struct {
	Username text `yaml:"username,omitempty"`
	Name     text `yaml:"name,omitempty"`
}

// tStep is one step: one input, the mocks its actions got, its replies.
type tStep struct {
	User     *text           `yaml:"user,omitempty"`
	Payload  *tPayload       `yaml:"payload,omitempty"`
	Postback *tPayload       `yaml:"postback,omitempty"`
	Echo     *text           `yaml:"echo,omitempty"`
	Read     bool            `yaml:"read,omitempty"`
	Admin    string          `yaml:"admin,omitempty"`
	Event    map[string]any  `yaml:"event,omitempty"`
	Advance  string          `yaml:"advance,omitempty"`
	Mock     map[string]*tMk `yaml:"mock,omitempty"`
	Bot      []any           `yaml:"bot,omitempty"`
	NoReply  bool            `yaml:"no_reply,omitempty"`

	at       time.Time         // the fake clock's time of the step
	recorded []dmflow.Outgoing // the replies it expects, as recorded
}

type tPayload struct {
	Payload text `yaml:"payload"`
	Text    text `yaml:"text,omitempty"`
	Title   text `yaml:"title,omitempty"`
}

// tMk is a mock in its long form, the whole recorded result.
type tMk struct {
	Outcome string `yaml:"outcome"`
	Status  int    `yaml:"status,omitempty"`
	Body    any    `yaml:"body,omitempty"`
	Error   text   `yaml:"error,omitempty"`
}

// tReply is a reply expectation with every field of the reply written.
type tReply struct {
	Text         *text    `yaml:"text,omitempty"`
	QuickReplies []tChip  `yaml:"quick_replies,omitempty"`
	Buttons      []tChip  `yaml:"buttons,omitempty"`
	Cards        []tCard  `yaml:"cards,omitempty"`
	Media        []tMedia `yaml:"media,omitempty"`
	Heart        bool     `yaml:"heart,omitempty"`
	Share        text     `yaml:"share,omitempty"`
	Typing       string   `yaml:"typing,omitempty"`
	Seen         bool     `yaml:"seen,omitempty"`
	React        *text    `yaml:"react,omitempty"`
	Kind         string   `yaml:"kind,omitempty"`
	Private      bool     `yaml:"private,omitempty"`
	Undelivered  bool     `yaml:"undelivered,omitempty"`
	Thread       string   `yaml:"thread,omitempty"`
}

type tChip struct {
	Title   text   `yaml:"title,omitempty"`
	Payload text   `yaml:"payload,omitempty"`
	Type    string `yaml:"type,omitempty"`
	URL     text   `yaml:"url,omitempty"`
}

type tCard struct {
	Title    text    `yaml:"title"`
	Subtitle text    `yaml:"subtitle,omitempty"`
	Image    text    `yaml:"image,omitempty"`
	URL      text    `yaml:"url,omitempty"`
	Buttons  []tChip `yaml:"buttons,omitempty"`
}

type tMedia struct {
	Type         string `yaml:"type"`
	URL          text   `yaml:"url,omitempty"`
	AttachmentID text   `yaml:"attachment_id,omitempty"`
}

// gen builds the steps item by item.
type gen struct {
	steps  []*tStep
	start  time.Time
	clock  time.Time
	events int
	last   *tStep // the last step an event went into (actions answer it)
	// channel is the channel of the user's first event (instagram,
	// messenger): the transcript replays on it, so event.channel
	// conditions and the channel's rendering rules hold as recorded.
	channel string
}

func (g *gen) item(it dmflow.InboxItem) error {
	ev := it.Event
	if ev.Kind == dmflow.KindAdmin && (ev.Admin == nil || ev.Admin.Op == dmflow.AdminForget) {
		return nil
	}
	at := it.Received
	if ev.Kind == dmflow.KindTimer && ev.Timer != nil {
		at = ev.Timer.Due
	}
	if g.start.IsZero() {
		g.start, g.clock = at, at
	}
	g.events++
	switch ev.Kind {
	case dmflow.KindTimer, dmflow.KindActionResult, dmflow.KindAdmin: // the bot's own events
	default:
		if g.channel == "" && ev.Channel != "dmflow" {
			g.channel = ev.Channel
		}
	}
	if ev.Kind == dmflow.KindActionResult {
		return g.actionResult(it)
	}
	if ev.Kind == dmflow.KindTimer {
		s := &tStep{Advance: g.advance(at), at: g.clock}
		if s.Advance == "" {
			s.Advance = "1ns" // due now: the smallest move fires it
			g.clock = g.clock.Add(time.Nanosecond)
			s.at = g.clock
		}
		return g.add(s, it.Replies)
	}
	if d := g.advance(at); d != "" {
		g.steps = append(g.steps, &tStep{Advance: d, NoReply: true, at: g.clock})
	}
	s := &tStep{at: g.clock}
	if err := input(s, ev); err != nil {
		return err
	}
	return g.add(s, it.Replies)
}

// advance moves the clock to at and returns the step's duration ("" when
// at is not later).
func (g *gen) advance(at time.Time) string {
	if !at.After(g.clock) {
		return ""
	}
	d := at.Sub(g.clock)
	g.clock = at
	return d.String()
}

func (g *gen) add(s *tStep, replies []dmflow.Outgoing) error {
	g.steps = append(g.steps, s)
	g.last = s
	s.expect(replies)
	return nil
}

func (g *gen) actionResult(it dmflow.InboxItem) error {
	a := it.Event.Action
	if a == nil || g.last == nil {
		return nil // a result without its call (history cut by the retention)
	}
	m := &tMk{Outcome: a.Outcome, Status: a.Status, Error: text(a.Error)}
	if len(a.Body) > 0 {
		if err := json.Unmarshal(a.Body, &m.Body); err != nil {
			return fmt.Errorf("action %s: body: %w", a.Name, err)
		}
		m.Body = texts(m.Body)
	}
	if m.Outcome == dmflow.OutcomeTimeout && m.Error == "timeout (mocked)" {
		m.Error = ""
	}
	if g.last.Mock == nil {
		g.last.Mock = map[string]*tMk{}
	}
	g.last.Mock[a.Name] = m
	g.last.expect(append(g.last.recorded, it.Replies...))
	return nil
}

// input sets the step's input for ev.
func input(s *tStep, ev dmflow.Event) error {
	plain := len(ev.Attachments) == 0 && ev.ReplyTo == nil && ev.Referral == nil && !ev.Self && !ev.Standby
	switch {
	case ev.Kind == dmflow.KindMessage && plain && ev.Payload == "":
		s.User = textp(ev.Text)
	case ev.Kind == dmflow.KindMessage && plain:
		s.Payload = &tPayload{Payload: text(ev.Payload), Text: text(ev.Text)}
	case ev.Kind == dmflow.KindPostback && !ev.Standby:
		s.Postback = &tPayload{Payload: text(ev.Payload), Title: text(ev.Title)}
	case ev.Kind == dmflow.KindEcho && plain && ev.Text != "":
		s.Echo = textp(ev.Text)
	case ev.Kind == dmflow.KindRead && !ev.Standby:
		s.Read = true
	case ev.Kind == dmflow.KindAdmin:
		s.Admin = strings.TrimSpace(ev.Admin.Op + " " + ev.Admin.State + ev.Admin.Locale)
	default:
		m, err := eventFields(ev)
		if err != nil {
			return err
		}
		s.Event = m
	}
	return nil
}

// eventFields are ev's JSON fields without those the runner sets (key,
// channel, account, user, time) and the platform's raw JSON.
func eventFields(ev dmflow.Event) (map[string]any, error) {
	ev.Raw = nil
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, k := range []string{"key", "channel", "account", "user", "time"} {
		delete(m, k)
	}
	texts(m)
	return m, nil
}

// expect sets the step's reply expectations to rs.
func (s *tStep) expect(rs []dmflow.Outgoing) {
	s.recorded = rs
	s.Bot, s.NoReply = nil, false
	if len(rs) == 0 {
		s.NoReply = true
		return
	}
	for _, r := range rs {
		s.Bot = append(s.Bot, replyWant(r, s.at))
	}
}

// replyWant is the expectation for one recorded reply: a bare string for
// a plain text, else every field.
func replyWant(o dmflow.Outgoing, at time.Time) any {
	r := o.Reply
	w := tReply{Private: o.To.CommentID != "", Undelivered: !dmflow.CheckWindow(o, at).OK}
	switch r.Kind {
	case dmflow.ReplyText:
		w.Text = textp(r.Text)
		if len(r.QuickReplies) == 0 && !w.Private && !w.Undelivered {
			return text(r.Text)
		}
		w.QuickReplies = []tChip{}
		for _, q := range r.QuickReplies {
			c := tChip{Title: text(q.Title), Payload: text(q.Payload)}
			if q.Type != "" && q.Type != "text" {
				c.Type = q.Type
			}
			w.QuickReplies = append(w.QuickReplies, c)
		}
	case dmflow.ReplyButtons:
		w.Text = textp(r.Text)
		w.Buttons = buttons(r.Buttons)
	case dmflow.ReplyGeneric:
		for _, e := range r.Elements {
			w.Cards = append(w.Cards, tCard{Title: text(e.Title), Subtitle: text(e.Subtitle), Image: text(e.ImageURL), URL: text(e.DefaultURL), Buttons: buttons(e.Buttons)})
		}
	case dmflow.ReplyMedia:
		for _, m := range r.Media {
			w.Media = append(w.Media, tMedia{Type: m.Type, URL: text(m.URL), AttachmentID: text(m.AttachmentID)})
		}
	case dmflow.ReplyLikeHeart:
		w.Heart = true
	case dmflow.ReplyMediaShare:
		w.Share = text(r.PostID)
	case dmflow.ReplyAction:
		switch r.Action {
		case dmflow.ActionTypingOn:
			w.Typing = "on"
		case dmflow.ActionTypingOff:
			w.Typing = "off"
		case dmflow.ActionMarkSeen:
			w.Seen = true
		default:
			w.Kind = string(r.Kind)
		}
	case dmflow.ReplyReact:
		w.React = textp(r.Reaction)
	case dmflow.ReplyThreadControl:
		w.Thread = r.Action
	default:
		w.Kind = string(r.Kind)
	}
	return w
}

func buttons(bs []dmflow.Button) []tChip {
	out := []tChip{}
	for _, b := range bs {
		out = append(out, tChip{Title: text(b.Title), Payload: text(b.Payload), URL: text(b.URL)})
	}
	return out
}

// text is a string written so that it reads back exactly: yaml.v3 writes
// strings with line breaks as block scalars, which lose text that is only
// line breaks or ends in spaces, so those are double-quoted.
type text string

// MarshalYAML implements yaml.Marshaler.
func (t text) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: string(t)}
	if strings.ContainsAny(string(t), "\n\r") {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n, nil
}

func textp(s string) *text { t := text(s); return &t }

// texts makes every string of a decoded JSON value a text.
func texts(v any) any {
	switch v := v.(type) {
	case string:
		return text(v)
	case map[string]any:
		for k, e := range v {
			v[k] = texts(e)
		}
	case []any:
		for i, e := range v {
			v[i] = texts(e)
		}
	}
	return v
}

package flowtest

import (
	"fmt"
	"strings"

	"github.com/dmflow/dmflow"
	"gopkg.in/yaml.v3"
)

var replyKeys = []string{"kind", "text", "text_matches", "text_contains", "quick_replies", "buttons", "cards",
	"image", "video", "audio", "file", "images", "media", "heart", "share", "typing", "seen", "react", "private", "undelivered",
	"public_reply", "moderate", "thread"}

// replies decodes `bot:`: a list of reply expectations, or one bare text.
func (p *tparser) replies(v *yaml.Node) []*replyWant {
	if v.Kind == yaml.ScalarNode {
		return []*replyWant{{Line: v.Line, Text: p.str(v)}}
	}
	if v.Kind != yaml.SequenceNode {
		p.errf(v, "bot must be a list of replies")
		return nil
	}
	out := []*replyWant{}
	for _, r := range v.Content {
		if w := p.reply(r); w != nil {
			out = append(out, w)
		}
	}
	return out
}

func (p *tparser) reply(n *yaml.Node) *replyWant {
	w := &replyWant{Line: n.Line}
	if n.Kind == yaml.ScalarNode {
		w.Text = p.str(n)
		return w
	}
	if !p.mapping(n, "reply", replyKeys) {
		return nil
	}
	eachPair(n, func(k string, v *yaml.Node) { p.replyField(w, k, v) })
	return w
}

func (p *tparser) replyField(w *replyWant, k string, v *yaml.Node) {
	switch k {
	case "kind":
		w.Kind = p.str(v)
	case "text":
		w.Text = p.str(v)
	case "text_matches":
		w.TextMatches = p.regexp(v, p.str(v))
	case "text_contains":
		w.TextContains = p.str(v)
	case "quick_replies":
		w.QRSet, w.QuickReplies = true, p.chips(v)
	case "buttons":
		w.ButtonsSet, w.Buttons = true, p.chips(v)
	case "cards":
		w.CardsSet, w.Cards = true, p.cards(v)
	case "image", "video", "audio", "file":
		w.MediaSet = true
		w.Media = append(w.Media, mediaWant{Type: k, URL: p.str(v)})
	case "images":
		var urls []string
		p.decode(v, &urls)
		w.MediaSet = true
		for i := range urls {
			w.Media = append(w.Media, mediaWant{Type: "image", URL: &urls[i]})
		}
	case "media":
		w.MediaSet = true
		w.Media = append(w.Media, p.media(v)...)
	case "heart":
		w.Heart = p.boolean(v)
	case "share":
		w.Share = p.str(v)
	case "typing":
		w.Typing = p.str(v)
	case "seen":
		w.Seen = p.boolean(v)
	case "react":
		w.React = p.str(v)
	case "private":
		w.Private = p.boolean(v)
	case "undelivered":
		w.Undelivered = p.boolean(v)
	case "public_reply":
		w.PublicReply = p.str(v)
	case "moderate":
		w.Moderate = p.str(v)
	case "thread":
		w.Thread = p.str(v)
		if w.Thread != nil && !contains([]string{dmflow.ThreadPass, dmflow.ThreadTake, dmflow.ThreadRelease, dmflow.ThreadRequest}, *w.Thread) {
			p.errf(v, "thread: want pass, take, release or request, got %q", *w.Thread)
		}
	}
}

// chips decodes a list of quick replies or buttons: titles or mappings.
func (p *tparser) chips(v *yaml.Node) []chipWant {
	out := []chipWant{}
	p.decode(v, &out)
	return out
}

// UnmarshalYAML reads a bare title or a {title, payload, type, url} mapping.
func (c *chipWant) UnmarshalYAML(n *yaml.Node) error {
	type plain chipWant
	return titled(n, "chip", &c.Title, (*plain)(c), "title", "payload", "type", "url")
}

// titled decodes a bare scalar into *title, or a mapping with the allowed
// keys into v.
func titled(n *yaml.Node, what string, title **string, v any, allowed ...string) error {
	if n.Kind == yaml.ScalarNode {
		*title = ptr(n.Value)
		return nil
	}
	if err := checkKeys(n, what, allowed...); err != nil {
		return err
	}
	return n.Decode(v)
}

// checkKeys rejects a mapping with keys outside allowed (yaml.v3 forgets
// KnownFields inside custom unmarshalers).
func checkKeys(n *yaml.Node, what string, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return &nodeError{n.Line, n.Column, what + " must be a mapping or a title"}
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i]; !contains(allowed, k.Value) {
			return &nodeError{k.Line, k.Column, fmt.Sprintf("unknown %s key %q (want one of: %s)", what, k.Value, strings.Join(allowed, ", "))}
		}
	}
	return nil
}

// nodeError is an error at a YAML node, from a custom unmarshaler.
type nodeError struct {
	Line, Col int
	Msg       string
}

func (e *nodeError) Error() string { return e.Msg }

func (p *tparser) cards(v *yaml.Node) []cardWant {
	out := []cardWant{}
	p.decode(v, &out)
	return out
}

// UnmarshalYAML reads a bare title or a {title, subtitle, image, url, buttons} mapping.
func (c *cardWant) UnmarshalYAML(n *yaml.Node) error {
	type plain cardWant
	return titled(n, "card", &c.Title, (*plain)(c), "title", "subtitle", "image", "url", "buttons")
}

func (p *tparser) media(v *yaml.Node) []mediaWant {
	var out []mediaWant
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	for _, m := range items {
		if !p.mapping(m, "media", []string{"type", "url", "attachment_id"}) {
			continue
		}
		var mw struct {
			Type string  `yaml:"type"`
			URL  *string `yaml:"url"`
			ID   *string `yaml:"attachment_id"`
		}
		p.decode(m, &mw)
		out = append(out, mediaWant{Type: mw.Type, URL: mw.URL, AttachmentID: mw.ID})
	}
	return out
}

// mismatches compares one reply with its expectation; each difference is one
// line "field: want X, got Y".
func (w *replyWant) mismatches(got dmflow.Outgoing) []string {
	r := got.Reply
	var d diffs
	d.str("kind", w.Kind, string(r.Kind))
	d.str("text", w.Text, r.Text)
	if w.TextMatches != nil && !w.TextMatches.MatchString(r.Text) {
		d.add("text_matches: %q does not match %q", w.TextMatches.String(), r.Text)
	}
	if w.TextContains != nil && !strings.Contains(r.Text, *w.TextContains) {
		d.add("text_contains: %q not in %q", *w.TextContains, r.Text)
	}
	if w.QRSet {
		d.chips("quick_replies", w.QuickReplies, qrChips(r.QuickReplies))
	}
	if w.ButtonsSet {
		d.chips("buttons", w.Buttons, btnChips(r.Buttons))
	}
	if w.CardsSet {
		d.cards(w.Cards, r.Elements)
	}
	if w.MediaSet {
		d.media(w.Media, r.Media)
	}
	d.boolean("heart", w.Heart, r.Kind == dmflow.ReplyLikeHeart)
	d.str("share", w.Share, r.PostID)
	d.str("typing", w.Typing, typingOf(r))
	d.boolean("seen", w.Seen, r.Kind == dmflow.ReplyAction && r.Action == dmflow.ActionMarkSeen)
	if w.React != nil {
		d.str("react", w.React, r.Reaction)
		d.str("kind", ptr(string(dmflow.ReplyReact)), string(r.Kind))
	}
	d.boolean("private", w.Private, got.To.CommentID != "")
	switch {
	case w.PublicReply != nil:
		d.str("public_reply", w.PublicReply, publicText(r))
	case w.Moderate != nil:
		d.str("moderate", w.Moderate, moderation(r))
	case w.Thread != nil:
		d.str("thread", w.Thread, threadAction(r))
	case r.NotMessage() && w.Kind == nil:
		d.add("kind: want a message, got %s", shortReply(r))
	}
	return d
}

// publicText is the text of a public comment reply ("" for other kinds).
func publicText(r dmflow.Reply) string {
	if r.Kind != dmflow.ReplyCommentReply {
		return ""
	}
	return r.Text
}

// threadAction is the action of a thread-control change ("" for other kinds).
func threadAction(r dmflow.Reply) string {
	if r.Kind != dmflow.ReplyThreadControl {
		return ""
	}
	return r.Action
}

// moderation is the action of a moderation reply ("" for other kinds).
func moderation(r dmflow.Reply) string {
	if r.Kind != dmflow.ReplyModerate {
		return ""
	}
	return r.Action
}

func typingOf(r dmflow.Reply) string {
	switch {
	case r.Kind != dmflow.ReplyAction:
		return ""
	case r.Action == dmflow.ActionTypingOn:
		return "on"
	case r.Action == dmflow.ActionTypingOff:
		return "off"
	}
	return ""
}

// chip is a quick reply or button as compared by chipWant.
type chip struct{ Title, Payload, Type, URL string }

func qrChips(qs []dmflow.QuickReply) []chip {
	out := make([]chip, len(qs))
	for i, q := range qs {
		t := q.Type
		if t == "" {
			t = "text"
		}
		out[i] = chip{Title: q.Title, Payload: q.Payload, Type: t}
	}
	return out
}

func btnChips(bs []dmflow.Button) []chip {
	out := make([]chip, len(bs))
	for i, b := range bs {
		out[i] = chip{Title: b.Title, Payload: b.Payload, Type: b.Type, URL: b.URL}
	}
	return out
}

// diffs collects mismatch lines.
type diffs []string

func (d *diffs) add(format string, args ...any) { *d = append(*d, fmt.Sprintf(format, args...)) }

func (d *diffs) str(field string, want *string, got string) {
	if want != nil && *want != got {
		d.add("%s: want %q, got %q", field, *want, got)
	}
}

func (d *diffs) boolean(field string, want *bool, got bool) {
	if want != nil && *want != got {
		d.add("%s: want %v, got %v", field, *want, got)
	}
}

func (d *diffs) chips(field string, want []chipWant, got []chip) {
	if len(want) != len(got) {
		d.add("%s: want %s, got %s", field, chipWantList(want), chipList(got))
		return
	}
	for i, w := range want {
		g := got[i]
		f := fmt.Sprintf("%s[%d].", field, i)
		d.str(f+"title", w.Title, g.Title)
		d.str(f+"payload", w.Payload, g.Payload)
		d.str(f+"type", w.Type, g.Type)
		d.str(f+"url", w.URL, g.URL)
	}
}

func (d *diffs) cards(want []cardWant, got []dmflow.Element) {
	if d.count("cards", len(want), names(got, func(e dmflow.Element) string { return e.Title })) {
		return
	}
	for i, w := range want {
		g := got[i]
		f := fmt.Sprintf("cards[%d].", i)
		d.str(f+"title", w.Title, g.Title)
		d.str(f+"subtitle", w.Subtitle, g.Subtitle)
		d.str(f+"image", w.Image, g.ImageURL)
		d.str(f+"url", w.URL, g.DefaultURL)
		if w.Buttons != nil {
			d.chips(f+"buttons", w.Buttons, btnChips(g.Buttons))
		}
	}
}

func (d *diffs) media(want []mediaWant, got []dmflow.Media) {
	if d.count("media", len(want), names(got, mediaText)) {
		return
	}
	for i, w := range want {
		g := got[i]
		f := fmt.Sprintf("media[%d].", i)
		d.str(f+"type", &w.Type, g.Type)
		d.str(f+"url", w.URL, g.URL)
		d.str(f+"attachment_id", w.AttachmentID, g.AttachmentID)
	}
}

// count reports a length mismatch, listing what came instead.
func (d *diffs) count(field string, want int, got []string) bool {
	if want == len(got) {
		return false
	}
	d.add("%s: want %d, got %d %q", field, want, len(got), got)
	return true
}

func names[T any](xs []T, name func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = name(x)
	}
	return out
}

func chipWantList(ws []chipWant) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		switch {
		case w.Title != nil:
			s[i] = *w.Title
		case w.Payload != nil:
			s[i] = "payload " + *w.Payload
		case w.Type != nil:
			s[i] = "(" + *w.Type + ")"
		default:
			s[i] = "?"
		}
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func chipList(cs []chip) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.Title
		if c.Title == "" {
			s[i] = "(" + c.Type + ")"
		}
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func ptr[T any](v T) *T { return &v }

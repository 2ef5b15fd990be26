package flowtest

import (
	"fmt"
	"io"
	"strings"

	"github.com/dmflow/dmflow"
)

// Tappable is a quick reply or postback button the user can tap in chat by
// its number, and that `tap:` finds in a transcript by its title.
type Tappable struct {
	Title    string
	Payload  string
	Type     string // quick reply type: text, user_email, user_phone_number
	Postback bool   // a template button (postback event), not a quick reply
}

// ReplyPrinter renders bot replies as terminal text. With Numbered set,
// chips and postback buttons get numbers [1], [2], … (reset by Reset).
type ReplyPrinter struct {
	W        io.Writer
	Prefix   string // "bot: "
	Numbered bool
	Taps     []Tappable
}

const indent = "     "

// Reset forgets the tappables of earlier replies.
func (p *ReplyPrinter) Reset() { p.Taps = nil }

// Print renders one outgoing reply.
func (p *ReplyPrinter) Print(o dmflow.Outgoing) {
	prefix := p.Prefix
	if o.To.CommentID != "" {
		prefix = strings.TrimSuffix(prefix, ": ") + " (private reply to comment " + o.To.CommentID + "): "
	}
	r := o.Reply
	switch r.Kind {
	case dmflow.ReplyText:
		p.line(prefix, r.Text)
		p.chips(qrTaps(r.QuickReplies), nil)
	case dmflow.ReplyButtons:
		p.line(prefix, r.Text)
		p.chips(nil, r.Buttons)
	case dmflow.ReplyGeneric:
		p.cards(prefix, r.Elements)
	case dmflow.ReplyMedia:
		for _, m := range r.Media {
			p.line(prefix, mediaText(m))
		}
	default:
		p.line(prefix, shortReply(r))
	}
}

func (p *ReplyPrinter) line(prefix, text string) {
	fmt.Fprintf(p.W, "%s%s\n", prefix, strings.ReplaceAll(text, "\n", "\n"+indent))
}

func (p *ReplyPrinter) cards(prefix string, els []dmflow.Element) {
	for i, e := range els {
		head := "[card] " + e.Title
		if len(els) > 1 {
			head = fmt.Sprintf("[card %d/%d] %s", i+1, len(els), e.Title)
		}
		if e.Subtitle != "" {
			head += " — " + e.Subtitle
		}
		p.line(prefix, head)
		var info []string
		if e.ImageURL != "" {
			info = append(info, "image "+e.ImageURL)
		}
		if e.DefaultURL != "" {
			info = append(info, "opens "+e.DefaultURL)
		}
		if len(info) > 0 {
			fmt.Fprintf(p.W, "%s%s\n", indent, strings.Join(info, " · "))
		}
		p.chips(nil, e.Buttons)
	}
}

// chips prints quick replies or buttons on one line.
func (p *ReplyPrinter) chips(qrs []Tappable, btns []dmflow.Button) {
	var parts []string
	for _, t := range qrs {
		parts = append(parts, p.tap(t))
	}
	for _, b := range btns {
		if b.Type == "web_url" {
			parts = append(parts, "["+b.Title+" → "+b.URL+"]")
			continue
		}
		parts = append(parts, p.tap(Tappable{Title: b.Title, Payload: b.Payload, Postback: true}))
	}
	if len(parts) > 0 {
		fmt.Fprintf(p.W, "%s%s\n", indent, strings.Join(parts, " "))
	}
}

func (p *ReplyPrinter) tap(t Tappable) string {
	label := t.Title
	switch t.Type {
	case "user_email":
		label = "(your email)"
	case "user_phone_number":
		label = "(your phone)"
	}
	if !p.Numbered {
		return "[" + label + "]"
	}
	p.Taps = append(p.Taps, t)
	return fmt.Sprintf("[%d] %s", len(p.Taps), label)
}

func qrTaps(qs []dmflow.QuickReply) []Tappable {
	out := make([]Tappable, len(qs))
	for i, q := range qs {
		out[i] = Tappable{Title: q.Title, Payload: q.Payload, Type: q.Type}
	}
	return out
}

// replyTaps lists the tappables of replies in display order.
func replyTaps(rs []dmflow.Outgoing) []Tappable {
	p := &ReplyPrinter{W: io.Discard, Numbered: true}
	for _, o := range rs {
		p.Print(o)
	}
	return p.Taps
}

func mediaText(m dmflow.Media) string {
	if m.URL == "" {
		return "[" + m.Type + "] attachment " + m.AttachmentID
	}
	return "[" + m.Type + "] " + m.URL
}

// shortReply renders the reply kinds that fit in one bracketed word.
func shortReply(r dmflow.Reply) string {
	switch r.Kind {
	case dmflow.ReplyLikeHeart:
		return "[heart]"
	case dmflow.ReplyMediaShare:
		return "[shared post " + r.PostID + "]"
	case dmflow.ReplyAction:
		return "[" + strings.ReplaceAll(r.Action, "_", " ") + "]"
	case dmflow.ReplyReact:
		if r.Reaction == "" {
			return "[unreact]"
		}
		return "[react " + r.Reaction + "]"
	case dmflow.ReplyCommentReply:
		return "[public reply to comment " + r.Comment + "] " + r.Text
	case dmflow.ReplyModerate:
		return "[" + r.Action + " comment " + r.Comment + "]"
	case dmflow.ReplyThreadControl:
		return "[thread " + r.Action + "]"
	}
	return fmt.Sprintf("[%s] %s", r.Kind, r.Text)
}

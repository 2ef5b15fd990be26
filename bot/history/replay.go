package history

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
)

// WriteReplay writes rep as text: a summary line, then one block per turn
// with the event and, below it, what was sent then and what the current
// flows send now. Turns whose replies differ start with "!"; a turn that
// says the same shows its replies once ("same").
//
//	replay acct/u1: 3 turns, 1 differs
//
//	  #1 2025-01-06T09:00:00Z message "hi"
//	     same  "Hi! What's your name?"
//	! #2 2025-01-06T09:00:05Z message "Ann"
//	     then  "Nice to meet you, Ann!"
//	     now   "Hello Ann!" [Pricing] [Support]
func WriteReplay(w io.Writer, rep *bot.Replay) error {
	ew := &errWriter{w: w}
	turns := "turns"
	if len(rep.Steps) == 1 {
		turns = "turn"
	}
	verb := "differ"
	if rep.Differs == 1 {
		verb = "differs"
	}
	ew.printf("replay %s: %d %s, %d %s from what was sent\n", rep.Key, len(rep.Steps), turns, rep.Differs, verb)
	for _, st := range rep.Steps {
		mark := " "
		if st.Differs {
			mark = "!"
		}
		ew.printf("\n%s #%d %s %s\n", mark, st.Seq, st.Event.Time.UTC().Format(time.RFC3339), Describe(st.Event))
		switch {
		case st.Error != "":
			ew.lines("then", st.Sent)
			ew.printf("     now   error: %s\n", st.Error)
		case !st.Differs:
			ew.lines("same", st.Replies)
		default:
			ew.lines("then", st.Sent)
			ew.lines("now", st.Replies)
		}
	}
	if rep.Session != nil {
		ew.printf("\nthe replay ends in flow %s, state %s\n", rep.Session.Flow, rep.Session.State)
	}
	return ew.err
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// lines writes a reply list under a label ("(no reply)" when empty).
func (e *errWriter) lines(label string, rs []dmflow.Outgoing) {
	if len(rs) == 0 {
		e.printf("     %-5s (no reply)\n", label)
		return
	}
	for i, r := range rs {
		if i > 0 {
			label = ""
		}
		e.printf("     %-5s %s\n", label, Line(r))
	}
}

// Describe renders an inbound event in one line: `message "hi"`,
// `postback PRICING ("Pricing")`, `timer waiting`, `action lookup: ok 200`.
func Describe(ev dmflow.Event) string {
	switch ev.Kind {
	case dmflow.KindMessage, dmflow.KindEcho, dmflow.KindEdit, dmflow.KindComment:
		s := string(ev.Kind)
		if ev.Payload != "" {
			s += " payload " + ev.Payload
		}
		if ev.Text != "" {
			s += " " + strconv.Quote(ev.Text)
		}
		for _, a := range ev.Attachments {
			s += " [" + a.Type + "]"
		}
		return s
	case dmflow.KindPostback:
		return "postback " + ev.Payload + " (" + strconv.Quote(ev.Title) + ")"
	case dmflow.KindTimer:
		if ev.Timer != nil {
			return "timer " + ev.Timer.Name
		}
	case dmflow.KindActionResult:
		if a := ev.Action; a != nil {
			s := "action " + a.Name + ": " + a.Outcome
			if a.Status != 0 {
				s += " " + strconv.Itoa(a.Status)
			}
			return s
		}
	case dmflow.KindAdmin:
		if a := ev.Admin; a != nil {
			return strings.TrimSpace("admin " + a.Op + " " + a.State)
		}
	case dmflow.KindReaction:
		if r := ev.Reaction; r != nil {
			return "reaction " + r.Action + " " + r.Reaction + r.Emoji
		}
	case dmflow.KindReferral:
		if r := ev.Referral; r != nil {
			return "referral " + r.Ref
		}
	}
	return string(ev.Kind)
}

// Line renders one reply in one line: the text in quotes with its chips,
// cards and buttons by title, media by URL.
func Line(o dmflow.Outgoing) string {
	r := o.Reply
	var b strings.Builder
	switch r.Kind {
	case dmflow.ReplyText, dmflow.ReplyButtons:
		b.WriteString(strconv.Quote(r.Text))
	case dmflow.ReplyMedia:
		for i, m := range r.Media {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString("[" + m.Type + "] " + m.URL + m.AttachmentID)
		}
	case dmflow.ReplyGeneric:
		b.WriteString("[cards]")
		for _, e := range r.Elements {
			b.WriteString(" " + strconv.Quote(e.Title))
			for _, bt := range e.Buttons {
				b.WriteString(" [" + bt.Title + "]")
			}
		}
	case dmflow.ReplyLikeHeart:
		b.WriteString("[heart]")
	case dmflow.ReplyMediaShare:
		b.WriteString("[share] " + r.PostID)
	case dmflow.ReplyAction:
		b.WriteString("[" + r.Action + "]")
	case dmflow.ReplyReact:
		b.WriteString("[react " + r.Reaction + "]")
	default:
		b.WriteString("[" + string(r.Kind) + "]")
	}
	for _, q := range r.QuickReplies {
		t := q.Title
		if t == "" {
			t = "(" + q.Type + ")"
		}
		b.WriteString(" [" + t + "]")
	}
	for _, bt := range r.Buttons {
		b.WriteString(" [" + bt.Title + "]")
	}
	if o.To.CommentID != "" {
		b.WriteString(" (private reply)")
	}
	if o.Tag != "" {
		b.WriteString(" (" + o.Tag + ")")
	}
	return b.String()
}

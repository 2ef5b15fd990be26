package dmflow

import "strings"

// SettleTimer is the Timer.Name of an open settle window: when it fires,
// the messages held in Session.Settling are handled as one turn.
const SettleTimer = "settle"

// Settlable reports whether a flow's settle window may hold e back to
// merge it with the rest of a burst: a message a person typed or sent
// (text, attachments, a story reply), not a quick-reply tap (Payload set):
// a tap is a deliberate, complete answer.
func (e *Event) Settlable() bool { return e.Kind == KindMessage && e.Payload == "" }

// MergeMessages merges a burst of messages (oldest first, at least one)
// into the one message a flow sees: the texts joined with newlines (empty
// texts skipped), the attachments of all in order, the first reply-to and
// referral found; key, mid and time are the last message's (a `react`
// reply reacts to the last message). Raw is dropped.
func MergeMessages(evs []Event) Event {
	if len(evs) == 0 {
		return Event{}
	}
	out := evs[len(evs)-1]
	out.Raw, out.Text, out.Attachments, out.ReplyTo, out.Referral = nil, "", nil, nil, nil
	var texts []string
	for i := range evs {
		e := &evs[i]
		if e.Text != "" {
			texts = append(texts, e.Text)
		}
		out.Attachments = append(out.Attachments, e.Attachments...)
		if out.ReplyTo == nil && e.ReplyTo != nil {
			r := *e.ReplyTo
			out.ReplyTo = &r
		}
		if out.Referral == nil && e.Referral != nil {
			r := *e.Referral
			out.Referral = &r
		}
	}
	out.Text = strings.Join(texts, "\n")
	return out
}

package dmflow

import (
	"fmt"
	"time"
)

// Instagram's messaging windows. They are the one owner of the rule "may this
// reply still be sent": the sender (adapters/instagram) refuses a reply with
// ErrOutsideWindow when CheckWindow says no, and the authoring tools
// (`dmflow test`, `dmflow chat`, the studio) show the same verdict with
// their fake clock.
const (
	// MessagingWindow is how long after the user's last message (or
	// postback) a reply may be sent.
	MessagingWindow = 24 * time.Hour
	// HumanAgentWindow is how long after the user's last message a reply
	// tagged HUMAN_AGENT (a person answering a handed-off conversation) may
	// be sent.
	HumanAgentWindow = 7 * 24 * time.Hour
	// PrivateReplyWindow is how long after a comment its private reply may
	// be sent.
	PrivateReplyWindow = 7 * 24 * time.Hour
)

// Window is the verdict of CheckWindow for one reply.
type Window struct {
	// OK reports that the reply may be sent; Tag is then the message tag to
	// send it with ("" inside the 24-hour window, TagHumanAgent after it).
	OK  bool
	Tag string
	// Since is the time since the user's last message (or the comment);
	// Limit the window that applied. Both are zero when the last message is
	// unknown (not checked: the platform decides).
	Since, Limit time.Duration
	// Reason explains a refusal in one sentence ("" when OK).
	Reason string
}

// Err returns nil when the reply may be sent, else an error wrapping
// ErrOutsideWindow with the reason.
func (w Window) Err() error {
	if w.OK {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrOutsideWindow, w.Text())
}

// Text is the refusal in words with the times ("" when OK), e.g. "the
// 24-hour window since the user's last message is closed (25h0m0s ago, limit 24h0m0s)".
func (w Window) Text() string {
	if w.OK {
		return ""
	}
	return fmt.Sprintf("%s (%s ago, limit %s)", w.Reason, w.Since.Round(time.Second), w.Limit)
}

// CheckWindow decides whether Instagram accepts m at now, from m's
// LastInbound (the user's last message, or for a private reply the
// comment's time), its recipient and its Tag (HUMAN_AGENT marks a person's
// message in a handed-off conversation, never a flow's reply):
//
//   - a private reply (To.CommentID) may go up to 7 days after the comment;
//   - any other reply up to 24 h after the user's last message, untagged;
//   - after that, only a HUMAN_AGENT reply, up to 7 days after it.
//
// A zero LastInbound is not checked (OK with m.Tag): the platform decides.
// Public comment replies, moderation and thread-control changes
// (Reply.NotMessage) are not messages and have no window: always OK.
// The function is pure: same input, same verdict.
func CheckWindow(m Outgoing, now time.Time) Window {
	if m.LastInbound.IsZero() || m.Reply.NotMessage() {
		return Window{OK: true, Tag: m.Tag}
	}
	since := now.Sub(m.LastInbound)
	switch {
	case m.To.CommentID != "":
		if since > PrivateReplyWindow {
			return Window{Since: since, Limit: PrivateReplyWindow, Reason: "private replies are allowed for 7 days after the comment"}
		}
		return Window{OK: true, Since: since, Limit: PrivateReplyWindow}
	case since <= MessagingWindow:
		return Window{OK: true, Since: since, Limit: MessagingWindow} // inside the window no tag is needed
	case m.Tag == TagHumanAgent && since <= HumanAgentWindow:
		return Window{OK: true, Tag: TagHumanAgent, Since: since, Limit: HumanAgentWindow}
	case m.Tag == TagHumanAgent:
		return Window{Since: since, Limit: HumanAgentWindow, Reason: "HUMAN_AGENT replies are allowed for 7 days after the user's last message"}
	}
	return Window{Since: since, Limit: MessagingWindow,
		Reason: "the 24-hour window since the user's last message is closed"}
}

// OperatorTag is the tag of an operator's message (admin send) to a
// session: HUMAN_AGENT while the conversation is handed off to a person,
// else none. CheckWindow then decides: inside the 24-hour window the tag is
// not needed and not sent; after it only a handed-off conversation may
// still be answered, up to 7 days after the user's last message. A flow's
// replies are never tagged.
func OperatorTag(handedOff bool) string {
	if handedOff {
		return TagHumanAgent
	}
	return ""
}

// OperatorOutgoing addresses an operator's message rep to the session s,
// tagged by OperatorTag.
func OperatorOutgoing(s *Session, rep Reply, cause string) Outgoing {
	return Outgoing{Key: s.Key, To: Recipient{ID: s.Key.User}, Reply: rep, Cause: cause,
		Tag: OperatorTag(s.Handoff != nil), LastInbound: s.LastInbound}
}

// CheckOperator is CheckWindow's verdict for an operator's message to s at
// now, with the refusal worded for the operator: outside the 24-hour window
// a conversation that is not handed off cannot be answered at all (hand it
// off first), a handed-off one for 7 days after the user's last message.
func CheckOperator(s *Session, now time.Time) Window {
	w := CheckWindow(OperatorOutgoing(s, Reply{}, ""), now)
	if !w.OK && s.Handoff == nil {
		w.Reason = "the conversation is not handed off and the 24-hour window since the user's last message is closed " +
			"(hand it off first: an operator's message in a handed-off conversation may be sent, tagged HUMAN_AGENT, " +
			"for 7 days after the user's last message)"
	}
	return w
}

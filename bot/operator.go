package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/dmflow/dmflow"
)

// ErrNotHandedOff is wrapped by Send's refusal of an operator's message to
// a conversation that is not handed off, outside the 24-hour window.
var ErrNotHandedOff = errors.New("conversation not handed off")

// OperatorMessage is the body of an operator's message (admin send).
type OperatorMessage struct {
	Text         string              `json:"text"`
	QuickReplies []dmflow.QuickReply `json:"quick_replies,omitempty"`
	By           string              `json:"by,omitempty"` // who sends it (default "admin")
}

// Reply checks m against Instagram's limits and returns it as a text reply.
func (m OperatorMessage) Reply() (dmflow.Reply, error) {
	bad := func(format string, a ...any) (dmflow.Reply, error) {
		return dmflow.Reply{}, fmt.Errorf("bot: send: "+format+": %w", append(a, dmflow.ErrInvalid)...)
	}
	switch {
	case strings.TrimSpace(m.Text) == "":
		return bad("text is required")
	case !utf8.ValidString(m.Text):
		return bad("text is not valid UTF-8")
	case len(m.Text) > dmflow.MaxTextBytes:
		return bad("text is %d bytes, at most %d", len(m.Text), dmflow.MaxTextBytes)
	case len(m.QuickReplies) > dmflow.MaxQuickReplies:
		return bad("%d quick replies, at most %d", len(m.QuickReplies), dmflow.MaxQuickReplies)
	}
	rep := dmflow.Reply{Kind: dmflow.ReplyText, Text: m.Text}
	for i, q := range m.QuickReplies {
		switch q.Type {
		case "", "text":
			if strings.TrimSpace(q.Title) == "" || utf8.RuneCountInString(q.Title) > dmflow.MaxQuickReplyLen {
				return bad("quick reply %d: title must be 1 to %d characters", i+1, dmflow.MaxQuickReplyLen)
			}
			if q.Payload == "" {
				q.Payload = q.Title
			}
			q.Type = ""
		case "user_email", "user_phone_number":
			q.Title, q.Payload = "", ""
		default:
			return bad("quick reply %d: type %q: want text, user_email or user_phone_number", i+1, q.Type)
		}
		rep.QuickReplies = append(rep.QuickReplies, q)
	}
	return rep, nil
}

// Send queues an operator's message to the user through the user's inbox,
// behind the user's pending events, and returns the command's event key.
// It goes out tagged HUMAN_AGENT while the conversation is handed off
// (dmflow.OperatorTag; the tag is only sent outside the 24-hour window).
// Send refuses, wrapping dmflow.ErrOutsideWindow, what the messaging
// window no longer allows at the bot's clock (dmflow.CheckOperator):
// outside the 24-hour window a conversation that is not handed off
// (also wrapping ErrNotHandedOff), and beyond 7 days any. The sender checks
// again when it sends and dead-letters the message with the reason if the
// window closed meanwhile. A user without a session is ErrNotFound.
func (b *Bot) Send(ctx context.Context, key dmflow.SessionKey, m OperatorMessage) (string, error) {
	rep, err := m.Reply()
	if err != nil {
		return "", err
	}
	if key.Account == "" || key.User == "" {
		return "", fmt.Errorf("bot: send: empty session key: %w", dmflow.ErrInvalid)
	}
	s, err := b.store.GetSession(ctx, key)
	if err != nil {
		return "", fmt.Errorf("bot: send to %s: %w", key, err)
	}
	if w := dmflow.CheckOperator(s, b.now()); !w.OK {
		if s.Handoff == nil {
			return "", fmt.Errorf("bot: send to %s: %w: %w", key, ErrNotHandedOff, w.Err())
		}
		return "", fmt.Errorf("bot: send to %s: %w", key, w.Err())
	}
	by := m.By
	if by == "" {
		by = "admin"
	}
	return b.Command(ctx, key, dmflow.AdminCommand{Op: dmflow.AdminSend, By: by, Reply: &rep})
}

func (b *Bot) adminSend(w http.ResponseWriter, r *http.Request) {
	var m OperatorMessage
	if err := decodeJSON(r, &m); err != nil {
		writeJSONError(w, http.StatusBadRequest, err)
		return
	}
	evKey, err := b.Send(r.Context(), pathKey(r), m)
	switch {
	case errors.Is(err, ErrNotHandedOff):
		writeJSONError(w, http.StatusConflict, err)
	case errors.Is(err, dmflow.ErrOutsideWindow):
		writeJSONError(w, http.StatusUnprocessableEntity, err)
	case err != nil:
		writeJSONError(w, statusOf(err), err)
	default:
		writeJSON(w, http.StatusAccepted, map[string]string{"queued": dmflow.AdminSend, "event": evKey})
	}
}

package instagram

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/dmflow/dmflow"
)

// Comment replies and moderation (see doc.go, "Comments"): a public reply
// is POST /{comment-id}/replies with message; hide and unhide are
// POST /{comment-id} with hide=true|false; delete is DELETE /{comment-id}.
// They need instagram_business_manage_comments and count against the
// account's Business Use Case limit, not the Send API's per-second limits,
// so they are not paced here; the usage headers still throttle them
// (withRetry). Errors are classified like sends: a missing permission, a
// deleted or hidden comment are permanent (dead letter), throttling and 5xx
// are retried.

// commentCall builds the Graph request of a public reply or moderation.
func (c *Client) commentCall(account string, r dmflow.Reply) (call, error) {
	if r.Comment == "" {
		return call{}, fmt.Errorf("%s needs a comment id", r.Kind)
	}
	node := c.cfg.BaseURL + "/" + c.cfg.Version + "/" + url.PathEscape(r.Comment)
	form := url.Values{}
	cl := call{method: http.MethodPost, url: node, ctype: "application/x-www-form-urlencoded", account: account}
	switch {
	case r.Kind == dmflow.ReplyCommentReply:
		switch {
		case r.Text == "":
			return call{}, fmt.Errorf("empty public reply")
		case !utf8.ValidString(r.Text):
			return call{}, fmt.Errorf("public reply is not UTF-8")
		case utf8.RuneCountInString(r.Text) > dmflow.MaxCommentLen:
			return call{}, fmt.Errorf("public reply of %d characters, at most %d", utf8.RuneCountInString(r.Text), dmflow.MaxCommentLen)
		}
		cl.url += "/replies"
		form.Set("message", r.Text)
	case r.Action == dmflow.ModerateHide, r.Action == dmflow.ModerateUnhide:
		form.Set("hide", fmt.Sprint(r.Action == dmflow.ModerateHide))
		cl.idempotent = true // hiding twice is hiding
	case r.Action == dmflow.ModerateDelete:
		cl.method, cl.ctype, cl.idempotent = http.MethodDelete, "", true
		return cl, nil
	default:
		return call{}, fmt.Errorf("moderation action %q (want hide, unhide or delete)", r.Action)
	}
	cl.body = []byte(form.Encode())
	return cl, nil
}

// sendComment performs a public reply or moderation and returns the new
// comment's id (a public reply) or "".
func (c *Client) sendComment(ctx context.Context, m dmflow.Outgoing) (string, error) {
	cl, err := c.commentCall(m.Key.Account, m.Reply)
	if err != nil {
		return "", fmt.Errorf("instagram: %s: %w: %w: %w", m.Reply.Kind, dmflow.ErrPermanent, dmflow.ErrInvalid, err)
	}
	res, err := c.withRetry(ctx, m.Key.Account, cl)
	if err != nil {
		return "", err
	}
	var out struct {
		ID      flexString `json:"id"`
		Success *bool      `json:"success"`
	}
	if err := json.Unmarshal(res.body, &out); err != nil {
		if m.Reply.Kind == dmflow.ReplyCommentReply {
			return "", &APIError{Method: cl.method, Path: "replies", Status: 200, Class: Ambiguous,
				Err: fmt.Errorf("accepted but unreadable answer: %w", err)}
		}
		return "", nil // moderation is idempotent: a 200 is done
	}
	if out.Success != nil && !*out.Success {
		return "", &APIError{Method: cl.method, Path: "comment", Status: 200, Class: Permanent,
			Err: fmt.Errorf("%s %s: the platform answered success=false", m.Reply.Action, m.Reply.Comment)}
	}
	return string(out.ID), nil
}

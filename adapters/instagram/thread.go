package instagram

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/dmflow/dmflow"
)

// Instagram inbox apps of Meta's conversation routing (handover protocol):
// passing a thread to one of them lets people answer in Meta's inbox.
// Source: "Handover Protocol API Reference",
// developers.facebook.com/docs/messenger-platform/reference/handover-protocol.
const (
	// InstagramInboxApp is the app id of the Instagram inbox (the default
	// of ClientConfig.InboxAppID).
	InstagramInboxApp = "1217981644879628"
	// PageInboxApp is the app id of the Facebook Page inbox (Business
	// Suite's inbox for a Page).
	PageInboxApp = "263902037430900"
)

// threadEdges maps a thread-control action to its Graph edge.
var threadEdges = map[string]string{
	dmflow.ThreadPass:    "pass_thread_control",
	dmflow.ThreadTake:    "take_thread_control",
	dmflow.ThreadRelease: "release_thread_control",
	dmflow.ThreadRequest: "request_thread_control",
}

// threadBody is the request of every thread-control edge.
type threadBody struct {
	Recipient   dmflow.Recipient `json:"recipient"`
	TargetAppID string           `json:"target_app_id,omitempty"`
	Metadata    string           `json:"metadata,omitempty"`
}

// threadCall builds the Graph request of a thread-control change:
// POST /{ig_id}/{pass|take|release|request}_thread_control with the
// customer as recipient; a pass names the target app (Reply.App, else
// ClientConfig.InboxAppID).
func (c *Client) threadCall(m dmflow.Outgoing) (call, error) {
	edge, ok := threadEdges[m.Reply.Action]
	switch {
	case !ok:
		return call{}, fmt.Errorf("thread control %q (want pass, take, release or request)", m.Reply.Action)
	case m.To.ID == "":
		return call{}, fmt.Errorf("thread control needs a user id")
	case len(m.Reply.Metadata) > maxThreadMetadata:
		return call{}, fmt.Errorf("thread control metadata of %d bytes, at most %d", len(m.Reply.Metadata), maxThreadMetadata)
	}
	b := threadBody{Recipient: dmflow.Recipient{ID: m.To.ID}, Metadata: m.Reply.Metadata}
	if m.Reply.Action == dmflow.ThreadPass {
		b.TargetAppID = m.Reply.App
		if b.TargetAppID == "" {
			b.TargetAppID = c.cfg.InboxAppID
		}
	}
	body, err := json.Marshal(b)
	if err != nil {
		return call{}, err
	}
	// Passing or taking twice ends in the same owner: safe to retry.
	return call{method: http.MethodPost, url: c.nodeURL(m.Key.Account, edge), body: body,
		ctype: "application/json", account: m.Key.Account, idempotent: true}, nil
}

// maxThreadMetadata bounds the metadata a handover carries: a bound of
// dmflow's own, as the pages read state no limit for Instagram.
const maxThreadMetadata = 1000

// sendThread performs a thread-control change. It returns "" (no message
// id); a success=false answer is a permanent failure.
func (c *Client) sendThread(ctx context.Context, m dmflow.Outgoing) (string, error) {
	cl, err := c.threadCall(m)
	if err != nil {
		return "", fmt.Errorf("instagram: thread control: %w: %w: %w", dmflow.ErrPermanent, dmflow.ErrInvalid, err)
	}
	res, err := c.withRetry(ctx, m.Key.Account, cl)
	if err != nil {
		return "", err
	}
	var out struct {
		Success *bool `json:"success"`
	}
	if json.Unmarshal(res.body, &out) == nil && out.Success != nil && !*out.Success {
		return "", &APIError{Method: cl.method, Path: threadEdges[m.Reply.Action], Status: 200, Class: Permanent,
			Err: fmt.Errorf("%s for %s: the platform answered success=false", m.Reply.Action, m.To.ID)}
	}
	return "", nil
}

package instagram

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/dmflow/dmflow"
)

// WelcomeFlow is a welcome message flow for Click-to-Instagram-Direct ads
// (see doc.go): the messages a person gets when they tap such an ad. ID is
// "" for a new flow.
type WelcomeFlow struct {
	ID       string           `yaml:"id" json:"flow_id,omitempty"`
	Name     string           `yaml:"name" json:"name"`
	Messages []WelcomeMessage `yaml:"messages" json:"-"`
}

// WelcomeMessage is one message of a welcome flow: text with optional
// quick replies (whose payloads arrive like any quick-reply tap).
type WelcomeMessage struct {
	Text         string              `yaml:"text"`
	QuickReplies []dmflow.QuickReply `yaml:"quick_replies"`
}

// Validate checks a flow against the Send API's limits before any call.
func (f WelcomeFlow) Validate() error {
	if f.Name == "" {
		return fmt.Errorf("welcome flow: name is required: %w", dmflow.ErrInvalid)
	}
	if len(f.Messages) == 0 {
		return fmt.Errorf("welcome flow %s: no messages: %w", f.Name, dmflow.ErrInvalid)
	}
	for i, m := range f.Messages {
		switch {
		case m.Text == "" || !utf8.ValidString(m.Text) || len(m.Text) > dmflow.MaxTextBytes:
			return fmt.Errorf("welcome flow %s: message %d: text must be 1 to %d UTF-8 bytes: %w", f.Name, i+1, dmflow.MaxTextBytes, dmflow.ErrInvalid)
		case len(m.QuickReplies) > dmflow.MaxQuickReplies:
			return fmt.Errorf("welcome flow %s: message %d: %d quick replies, at most %d: %w", f.Name, i+1, len(m.QuickReplies), dmflow.MaxQuickReplies, dmflow.ErrInvalid)
		}
		for _, q := range m.QuickReplies {
			if q.Title == "" || q.Payload == "" || utf8.RuneCountInString(q.Title) > dmflow.MaxQuickReplyLen {
				return fmt.Errorf("welcome flow %s: message %d: quick reply %q needs a title of at most %d characters and a payload: %w",
					f.Name, i+1, q.Title, dmflow.MaxQuickReplyLen, dmflow.ErrInvalid)
			}
		}
	}
	return nil
}

type welcomeQR struct {
	ContentType string `json:"content_type"`
	Title       string `json:"title"`
	Payload     string `json:"payload"`
}

type welcomeMsg struct {
	Message struct {
		Text         string      `json:"text"`
		QuickReplies []welcomeQR `json:"quick_replies,omitempty"`
	} `json:"message"`
}

// SetWelcomeFlow creates f (ID "") or updates it (POST
// /{ig_id}/welcome_message_flows with flow_id) and returns its id.
// Only Instagram is an eligible platform for Instagram Login apps.
func (c *Client) SetWelcomeFlow(ctx context.Context, account string, f WelcomeFlow) (string, error) {
	if err := f.Validate(); err != nil {
		return "", fmt.Errorf("instagram: %w", err)
	}
	msgs := make([]welcomeMsg, len(f.Messages))
	for i, m := range f.Messages {
		msgs[i].Message.Text = m.Text
		for _, q := range m.QuickReplies {
			msgs[i].Message.QuickReplies = append(msgs[i].Message.QuickReplies, welcomeQR{"text", q.Title, q.Payload})
		}
	}
	req := map[string]any{"eligible_platforms": []string{"instagram"}, "name": f.Name, "welcome_message_flow": msgs}
	if f.ID != "" {
		req["flow_id"] = f.ID
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	// An update is idempotent; a create is not (a retry may create twice).
	cl := call{method: http.MethodPost, url: c.nodeURL(account, "welcome_message_flows"), body: body,
		ctype: "application/json", account: account, idempotent: f.ID != ""}
	res, err := c.withRetry(ctx, account, cl)
	if err != nil {
		return "", fmt.Errorf("instagram: welcome flow %s: %w", f.Name, err)
	}
	var out struct {
		FlowID  flexString `json:"flow_id"`
		Success *bool      `json:"success"`
	}
	if err := decodeBody(cl, res.body, &out); err != nil {
		return "", err
	}
	if out.Success != nil && !*out.Success {
		return "", &APIError{Method: cl.method, Path: "welcome_message_flows", Status: 200, Class: Permanent,
			Err: fmt.Errorf("welcome flow %s: the platform answered success=false", f.Name)}
	}
	if f.ID != "" {
		return f.ID, nil
	}
	if out.FlowID == "" {
		return "", &APIError{Method: cl.method, Path: "welcome_message_flows", Status: 200, Class: Permanent,
			Err: fmt.Errorf("welcome flow %s: no flow_id in the answer", f.Name)}
	}
	return string(out.FlowID), nil
}

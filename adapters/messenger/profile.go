package messenger

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/dmflow/dmflow"
)

// Profile is the Page's Messenger profile that dmflow manages (Messenger
// Profile API, POST /{PAGE-ID}/messenger_profile with the Page token
// [MP]): the Get Started button's postback payload, the welcome-screen
// greeting per locale, and the persistent menu per locale. Empty parts are
// left out of the request (and so left unchanged on the Page).
type Profile struct {
	GetStarted     string            // payload of the Get Started postback
	Greeting       map[string]string // locale ("default", "en_US") → text
	PersistentMenu []Menu
}

// Menu is one locale's persistent menu.
type Menu struct {
	Locale                string          `json:"locale"`
	ComposerInputDisabled bool            `json:"composer_input_disabled,omitempty"`
	Buttons               []dmflow.Button `json:"call_to_actions"`
}

// SetProfile sets p on page. Errors are *APIError (or wrap ErrPermanent
// for a profile that cannot be sent).
func (c *Client) SetProfile(ctx context.Context, page string, p Profile) error {
	tok := c.cfg.Tokens[page]
	if tok == "" {
		return fmt.Errorf("messenger: no Page access token for page %s: %w", page, dmflow.ErrPermanent)
	}
	body := map[string]any{}
	if p.GetStarted != "" {
		body["get_started"] = map[string]string{"payload": p.GetStarted}
	}
	if len(p.Greeting) > 0 {
		var g []map[string]string
		for loc, text := range p.Greeting {
			g = append(g, map[string]string{"locale": loc, "text": text})
		}
		body["greeting"] = g
	}
	for _, m := range p.PersistentMenu {
		for _, b := range m.Buttons {
			if err := checkButtons([]dmflow.Button{b}); err != nil {
				return fmt.Errorf("messenger: persistent menu %s: %w: %w", m.Locale, dmflow.ErrPermanent, err)
			}
		}
	}
	if len(p.PersistentMenu) > 0 {
		body["persistent_menu"] = p.PersistentMenu
	}
	if len(body) == 0 {
		return nil
	}
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("messenger: encode profile: %w: %w", dmflow.ErrPermanent, err)
	}
	u := c.cfg.BaseURL + "/" + c.cfg.Version + "/" + url.PathEscape(page) + "/messenger_profile"
	_, err = c.post(ctx, u, tok, data)
	return err
}

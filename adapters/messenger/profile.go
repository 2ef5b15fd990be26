package messenger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dmflow/dmflow"
)

// Messenger Profile API limits [MP] [GRT] [IB] [MENU].
const (
	MaxGreetingChars   = 160 // characters of a greeting text
	MaxIceBreakers     = 4   // questions per locale
	MaxMenuButtons     = 20  // persistent-menu buttons per locale (flat menus)
	DefaultLocale      = "default"
	maxProfileResponse = 1 << 20
)

// ProfileFields are the Messenger profile fields dmflow manages.
var ProfileFields = []string{"get_started", "greeting", "ice_breakers", "persistent_menu"}

// Profile is the Page's Messenger profile that dmflow manages (Messenger
// Profile API, POST /{PAGE-ID}/messenger_profile with the Page token
// [MP]): the Get Started button's postback payload, the welcome-screen
// greeting, the ice breakers and the persistent menu, per locale. Empty
// parts are left out of the request (and so left unchanged on the Page).
// Where both are set, Messenger shows the ice breakers instead of the Get
// Started button [IB]; the persistent menu needs a Get Started button
// [MENU].
type Profile struct {
	GetStarted     string            // payload of the Get Started postback
	Greeting       map[string]string // locale ("default", "en_US") → text
	IceBreakers    []IceBreakers
	PersistentMenu []Menu
}

// IceBreakers are one locale's questions (the localized format [IB]).
type IceBreakers struct {
	Locale    string       `json:"locale"`
	Questions []IceBreaker `json:"call_to_actions"`
}

// IceBreaker is a question a person can tap to start the conversation;
// tapping it sends Payload as a postback.
type IceBreaker struct {
	Question string `json:"question"`
	Payload  string `json:"payload"`
}

// Menu is one locale's persistent menu.
type Menu struct {
	Locale                string          `json:"locale"`
	ComposerInputDisabled bool            `json:"composer_input_disabled,omitempty"`
	Buttons               []dmflow.Button `json:"call_to_actions"`
}

// Validate checks p against the platform's rules: a default locale in each
// localized part, greeting length, at most MaxIceBreakers questions and
// MaxMenuButtons postback or web_url buttons per locale, and a Get Started
// payload when there is a menu. Errors wrap dmflow.ErrInvalid.
func (p Profile) Validate() error {
	if len(p.GetStarted) > MaxPayloadLen {
		return invalidf("get_started payload: %d bytes, at most %d", len(p.GetStarted), MaxPayloadLen)
	}
	if len(p.Greeting) > 0 {
		if _, ok := p.Greeting[DefaultLocale]; !ok {
			return invalidf("greeting: a %q locale is required", DefaultLocale)
		}
		for loc, text := range p.Greeting {
			if n := utf8.RuneCountInString(text); text == "" || n > MaxGreetingChars {
				return invalidf("greeting %s: %d characters, want 1 to %d", loc, n, MaxGreetingChars)
			}
		}
	}
	locales := make([]string, 0, len(p.IceBreakers))
	for _, ib := range p.IceBreakers {
		locales = append(locales, ib.Locale)
		if n := len(ib.Questions); n == 0 || n > MaxIceBreakers {
			return invalidf("ice breakers %s: %d questions, want 1 to %d", ib.Locale, n, MaxIceBreakers)
		}
		for _, q := range ib.Questions {
			if strings.TrimSpace(q.Question) == "" || q.Payload == "" || len(q.Payload) > MaxPayloadLen {
				return invalidf("ice breakers %s: %q: want a question and a payload of at most %d bytes", ib.Locale, q.Question, MaxPayloadLen)
			}
		}
	}
	if len(locales) > 0 && !slices.Contains(locales, DefaultLocale) {
		return invalidf("ice breakers: a %q locale is required", DefaultLocale)
	}
	locales = locales[:0]
	for _, m := range p.PersistentMenu {
		locales = append(locales, m.Locale)
		if n := len(m.Buttons); n == 0 || n > MaxMenuButtons {
			return invalidf("persistent menu %s: %d buttons, want 1 to %d", m.Locale, n, MaxMenuButtons)
		}
		for _, b := range m.Buttons {
			if err := checkButtons([]dmflow.Button{b}); err != nil {
				return invalidf("persistent menu %s: %v", m.Locale, err)
			}
		}
	}
	if len(locales) > 0 && !slices.Contains(locales, DefaultLocale) {
		return invalidf("persistent menu: a %q locale is required", DefaultLocale)
	}
	if len(p.PersistentMenu) > 0 && p.GetStarted == "" {
		return invalidf("persistent menu: Messenger shows it only with a Get Started button: set get_started too")
	}
	return nil
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("messenger profile: %s: %w", fmt.Sprintf(format, args...), dmflow.ErrInvalid)
}

// body is the POST body of p: only the parts p has.
func (p Profile) body() map[string]any {
	body := map[string]any{}
	if p.GetStarted != "" {
		body["get_started"] = map[string]string{"payload": p.GetStarted}
	}
	if len(p.Greeting) > 0 {
		var g []map[string]string
		for _, loc := range sortedKeys(p.Greeting) {
			g = append(g, map[string]string{"locale": loc, "text": p.Greeting[loc]})
		}
		body["greeting"] = g
	}
	if len(p.IceBreakers) > 0 {
		body["ice_breakers"] = p.IceBreakers
	}
	if len(p.PersistentMenu) > 0 {
		body["persistent_menu"] = p.PersistentMenu
	}
	return body
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// SetProfile sets p on page in one request (the Messenger Profile API
// allows 10 calls per 10 minutes per Page [GRT]). A profile that fails
// Validate is not sent (an error wrapping dmflow.ErrInvalid and
// dmflow.ErrPermanent); other errors are *APIError.
func (c *Client) SetProfile(ctx context.Context, page string, p Profile) error {
	tok := c.cfg.Tokens[page]
	if tok == "" {
		return fmt.Errorf("messenger: no Page access token for page %s: %w", page, dmflow.ErrPermanent)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w (%w)", err, dmflow.ErrPermanent)
	}
	body := p.body()
	if len(body) == 0 {
		return nil
	}
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("messenger: encode profile: %w: %w", dmflow.ErrPermanent, err)
	}
	_, err = c.post(ctx, c.profileURL(page), tok, data)
	return err
}

// GetProfile returns what the Messenger Profile API answers for page's
// ProfileFields (GET messenger_profile?fields=...): its JSON "data", to
// verify a SetProfile.
func (c *Client) GetProfile(ctx context.Context, page string) (json.RawMessage, error) {
	tok := c.cfg.Tokens[page]
	if tok == "" {
		return nil, fmt.Errorf("messenger: no Page access token for page %s: %w", page, dmflow.ErrPermanent)
	}
	u := c.profileURL(page) + "?fields=" + url.QueryEscape(strings.Join(ProfileFields, ","))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &APIError{Class: dmflow.ClassPermanent, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL
		}
		return nil, &APIError{Class: dmflow.ClassRetryable, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxProfileResponse))
	if resp.StatusCode/100 != 2 {
		return nil, decodeError(resp.StatusCode, resp.Header, data)
	}
	var out struct {
		Data json.RawMessage `json:"data"`
	}
	if err != nil || json.Unmarshal(data, &out) != nil || out.Data == nil {
		return nil, &APIError{Status: resp.StatusCode, Class: dmflow.ClassRetryable, Err: fmt.Errorf("unreadable messenger_profile answer")}
	}
	return out.Data, nil
}

func (c *Client) profileURL(page string) string {
	return c.cfg.BaseURL + "/" + c.cfg.Version + "/" + url.PathEscape(page) + "/messenger_profile"
}

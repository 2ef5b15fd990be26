// Package messengertest is an in-process double of the Messenger Send API
// (graph.facebook.com/{version}/{page-id}/messages) with fault injection,
// and a builder of signed Messenger webhook deliveries.
package messengertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// DefaultPage is the Page id of the zero Config.
const DefaultPage = "105000000000001"

// Config configures the double.
type Config struct {
	// Tokens maps Page access tokens to the Page they speak for; nil
	// accepts any non-empty token for any Page.
	Tokens map[string]string
	// OnEcho, when set, receives the message_echoes delivery Messenger
	// would send after each accepted message, signed with WebhookSecret,
	// before the send is answered.
	OnEcho        func(body []byte, signature string)
	WebhookSecret string
	Now           func() time.Time
}

// Message is a send the double accepted.
type Message struct {
	ID            string          `json:"message_id,omitempty"`
	Page          string          `json:"page"`
	Recipient     string          `json:"recipient"`
	MessagingType string          `json:"messaging_type,omitempty"`
	Tag           string          `json:"tag,omitempty"`
	SenderAction  string          `json:"sender_action,omitempty"`
	Text          string          `json:"text,omitempty"`
	QuickReplies  int             `json:"quick_replies,omitempty"`
	Template      string          `json:"template,omitempty"` // generic | button
	Raw           json.RawMessage `json:"raw"`
}

// Fault makes sends fail until it runs out.
type Fault struct {
	Status        int // default 400 with a Code, else 500
	Code, Subcode int
	Transient     bool
	Times         int  // 0 = once; negative = until ClearFaults
	Deliver       bool // record the message before failing
}

// Server is the double; all methods are safe for concurrent use.
type Server struct {
	URL  string
	cfg  Config
	http *httptest.Server

	mu       sync.Mutex
	seq      int
	messages []Message
	faults   []*Fault
	changed  chan struct{}
	profiles map[string]map[string]json.RawMessage
	// profileCalls counts Messenger Profile API calls per Page
	profileCalls map[string]int
}

// NewServer starts a double on 127.0.0.1.
func NewServer(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, changed: make(chan struct{})}
	s.http = httptest.NewServer(s)
	s.URL = s.http.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.http.Close() }

// Messages returns the accepted sends, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// WaitMessages waits until at least n sends were accepted.
func (s *Server) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		msgs, ch := append([]Message(nil), s.messages...), s.changed
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return msgs, fmt.Errorf("messengertest: %d of %d messages: %w", len(msgs), n, ctx.Err())
		}
	}
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) takeFault() *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return nil
	}
	f := s.faults[0]
	if f.Times > 0 {
		if f.Times--; f.Times == 0 {
			s.faults = s.faults[1:]
		}
	}
	c := *f
	return &c
}

var (
	messagesPath = regexp.MustCompile(`^/(?:v\d+\.\d+/)?([^/]+)/messages$`)
	profilePath  = regexp.MustCompile(`^/(?:v\d+\.\d+/)?([^/]+)/messenger_profile$`)
)

// Profile returns the Messenger profile fields set on page (Messenger
// Profile API), by field name.
func (s *Server) Profile(page string) map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]json.RawMessage{}
	for k, v := range s.profiles[page] {
		out[k] = v
	}
	return out
}

// ProfileCalls counts the Messenger Profile API calls made for page
// (POST and GET).
func (s *Server) ProfileCalls(page string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.profileCalls[page]
}

func (s *Server) setProfile(w http.ResponseWriter, r *http.Request, path string) {
	page, ok := s.auth(r, path)
	if !ok {
		writeError(w, 401, 190, 0, "Invalid OAuth access token.")
		return
	}
	s.countProfileCall(page)
	var fields map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&fields); err != nil || len(fields) == 0 {
		writeError(w, 400, 100, 0, "Invalid profile")
		return
	}
	for k := range fields {
		switch k {
		case "get_started", "greeting", "persistent_menu", "ice_breakers", "whitelisted_domains":
		default:
			writeError(w, 400, 100, 0, "unknown profile field "+k)
			return
		}
	}
	s.mu.Lock()
	_, hadStart := s.profiles[page]["get_started"]
	s.mu.Unlock()
	if msg := checkProfile(fields, hadStart); msg != "" {
		writeError(w, 400, 100, 0, msg)
		return
	}
	s.mu.Lock()
	if s.profiles == nil {
		s.profiles = map[string]map[string]json.RawMessage{}
	}
	if s.profiles[page] == nil {
		s.profiles[page] = map[string]json.RawMessage{}
	}
	for k, v := range fields {
		s.profiles[page][k] = v
	}
	s.mu.Unlock()
	writeJSON(w, 200, map[string]string{"result": "success"})
}

func (s *Server) countProfileCall(page string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.profileCalls == nil {
		s.profileCalls = map[string]int{}
	}
	s.profileCalls[page]++
}

// getProfile answers GET messenger_profile?fields=a,b: {"data": [{...}]}
// with the fields set, or an empty data list.
func (s *Server) getProfile(w http.ResponseWriter, r *http.Request, path string) {
	page, ok := s.auth(r, path)
	if !ok {
		writeError(w, 401, 190, 0, "Invalid OAuth access token.")
		return
	}
	s.countProfileCall(page)
	want := strings.Split(r.URL.Query().Get("fields"), ",")
	if r.URL.Query().Get("fields") == "" {
		writeError(w, 400, 100, 0, "fields is required")
		return
	}
	s.mu.Lock()
	got := map[string]json.RawMessage{}
	for _, f := range want {
		if v, ok := s.profiles[page][f]; ok {
			got[f] = v
		}
	}
	s.mu.Unlock()
	data := []map[string]json.RawMessage{}
	if len(got) > 0 {
		data = append(data, got)
	}
	writeJSON(w, 200, map[string]any{"data": data})
}

// checkProfile applies the Messenger Profile API's rules to a POST: a
// default locale in greeting, ice_breakers and persistent_menu; greeting
// texts of 1-160 characters; 1-4 ice breakers with question and payload
// per locale; 1-20 postback or web_url menu buttons per locale; a menu
// only with a Get Started button (set before, or in the same call).
func checkProfile(fields map[string]json.RawMessage, hadStart bool) string {
	if raw, ok := fields["get_started"]; ok {
		var gs struct{ Payload string }
		if json.Unmarshal(raw, &gs) != nil || gs.Payload == "" {
			return "get_started: a payload is required"
		}
	}
	if raw, ok := fields["greeting"]; ok {
		var gs []struct{ Locale, Text string }
		if json.Unmarshal(raw, &gs) != nil || !hasDefault(len(gs), func(i int) string { return gs[i].Locale }) {
			return "greeting: a list with a default locale is required"
		}
		for _, g := range gs {
			if n := utf8.RuneCountInString(g.Text); n == 0 || n > 160 {
				return "greeting: text must be 1 to 160 characters"
			}
		}
	}
	if raw, ok := fields["ice_breakers"]; ok {
		var ibs []struct {
			Locale string
			CTAs   []struct{ Question, Payload string } `json:"call_to_actions"`
		}
		if json.Unmarshal(raw, &ibs) != nil || !hasDefault(len(ibs), func(i int) string { return ibs[i].Locale }) {
			return "ice_breakers: a list with a default locale is required"
		}
		for _, ib := range ibs {
			if len(ib.CTAs) == 0 || len(ib.CTAs) > 4 {
				return "ice_breakers: 1 to 4 questions per locale"
			}
			for _, q := range ib.CTAs {
				if q.Question == "" || q.Payload == "" {
					return "ice_breakers: each needs a question and a payload"
				}
			}
		}
	}
	if raw, ok := fields["persistent_menu"]; ok {
		var ms []struct {
			Locale string
			CTAs   []struct{ Type, Title, Payload, URL string } `json:"call_to_actions"`
		}
		if json.Unmarshal(raw, &ms) != nil || !hasDefault(len(ms), func(i int) string { return ms[i].Locale }) {
			return "persistent_menu: a list with a default locale is required"
		}
		for _, m := range ms {
			if len(m.CTAs) == 0 || len(m.CTAs) > 20 {
				return "persistent_menu: 1 to 20 buttons per locale"
			}
			for _, b := range m.CTAs {
				if b.Title == "" || !(b.Type == "postback" && b.Payload != "" || b.Type == "web_url" && b.URL != "") {
					return "persistent_menu: buttons are postback (payload) or web_url (url) with a title"
				}
			}
		}
		if _, now := fields["get_started"]; !now && !hadStart {
			return "persistent_menu requires a get_started button"
		}
	}
	return ""
}

func hasDefault(n int, locale func(int) string) bool {
	for i := range n {
		if locale(i) == "default" {
			return true
		}
	}
	return false
}

// ServeHTTP implements the Send API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := profilePath.FindStringSubmatch(r.URL.Path); p != nil && r.Method == http.MethodPost {
		s.setProfile(w, r, p[1])
		return
	}
	if p := profilePath.FindStringSubmatch(r.URL.Path); p != nil && r.Method == http.MethodGet {
		s.getProfile(w, r, p[1])
		return
	}
	m := messagesPath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodPost {
		writeError(w, 400, 100, 0, "Unsupported request")
		return
	}
	page, ok := s.auth(r, m[1])
	if !ok {
		writeError(w, 401, 190, 0, "Invalid OAuth access token.")
		return
	}
	var req sendRequest
	raw := json.RawMessage{}
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil || json.Unmarshal(raw, &req) != nil {
		writeError(w, 400, 100, 0, "Invalid JSON")
		return
	}
	msg, errMsg := validate(page, &req)
	if errMsg != "" {
		writeError(w, 400, 100, 0, errMsg)
		return
	}
	msg.Raw = raw
	f := s.takeFault()
	if f == nil || f.Deliver {
		msg = s.accept(msg)
	}
	if f != nil {
		status := f.Status
		if status == 0 {
			status = 500
			if f.Code != 0 {
				status = 400
			}
		}
		writeError(w, status, f.Code, f.Subcode, "injected fault", f.Transient)
		return
	}
	writeJSON(w, 200, map[string]string{"recipient_id": msg.Recipient, "message_id": msg.ID})
}

func (s *Server) auth(r *http.Request, page string) (string, bool) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		tok = r.URL.Query().Get("access_token")
	}
	if tok == "" {
		return "", false
	}
	if s.cfg.Tokens == nil {
		return page, page != "me"
	}
	p, ok := s.cfg.Tokens[tok]
	return p, ok && (page == "me" || page == p)
}

type sendRequest struct {
	Recipient struct {
		ID string `json:"id"`
	} `json:"recipient"`
	MessagingType string `json:"messaging_type"`
	Tag           string `json:"tag"`
	SenderAction  string `json:"sender_action"`
	Message       *struct {
		Text         string            `json:"text"`
		QuickReplies []json.RawMessage `json:"quick_replies"`
		Attachment   *struct {
			Type    string `json:"type"`
			Payload struct {
				TemplateType string            `json:"template_type"`
				Elements     []json.RawMessage `json:"elements"`
				Buttons      []json.RawMessage `json:"buttons"`
			} `json:"payload"`
		} `json:"attachment"`
	} `json:"message"`
}

// validate applies the documented limits (see the messenger package doc).
func validate(page string, req *sendRequest) (Message, string) {
	m := Message{Page: page, Recipient: req.Recipient.ID, MessagingType: req.MessagingType, Tag: req.Tag, SenderAction: req.SenderAction}
	switch {
	case req.Recipient.ID == "":
		return m, "recipient.id is required"
	case req.SenderAction != "" && req.Message != nil:
		return m, "sender_action must be sent alone"
	case req.SenderAction != "":
		return m, ""
	case req.Message == nil:
		return m, "message or sender_action is required"
	}
	switch req.MessagingType {
	case "RESPONSE", "UPDATE":
	case "MESSAGE_TAG":
		if req.Tag == "" {
			return m, "MESSAGE_TAG needs a tag"
		}
	default:
		return m, "messaging_type must be RESPONSE, UPDATE or MESSAGE_TAG"
	}
	msg := req.Message
	m.Text, m.QuickReplies = msg.Text, len(msg.QuickReplies)
	switch {
	case (msg.Text == "") == (msg.Attachment == nil):
		return m, "exactly one of text and attachment"
	case utf8.RuneCountInString(msg.Text) >= 2000:
		return m, "text must be less than 2000 characters"
	case len(msg.QuickReplies) > 13:
		return m, "at most 13 quick replies"
	}
	if a := msg.Attachment; a != nil && a.Type == "template" {
		m.Template = a.Payload.TemplateType
		if len(a.Payload.Elements) > 10 || len(a.Payload.Buttons) > 3 {
			return m, "template over its limits"
		}
	}
	return m, ""
}

func (s *Server) accept(m Message) Message {
	s.mu.Lock()
	s.seq++
	if m.SenderAction == "" {
		m.ID = fmt.Sprintf("m_msgrtest%08d", s.seq)
	}
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if s.cfg.OnEcho != nil && m.SenderAction == "" {
		wh := Webhook{Secret: s.cfg.WebhookSecret, Now: s.cfg.Now}
		body := wh.Echo(m.Page, m.Recipient, m.ID, m.Text, "990000000000002")
		s.cfg.OnEcho(body, wh.Sign(body))
	}
	return m
}

func writeError(w http.ResponseWriter, status, code, subcode int, msg string, transient ...bool) {
	e := map[string]any{"message": msg, "type": "OAuthException", "code": code, "fbtrace_id": "msgrtest"}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	if len(transient) > 0 && transient[0] {
		e["is_transient"] = true
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

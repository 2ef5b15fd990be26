package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// maxSendBody bounds the Send API bodies the sandbox records.
const maxSendBody = 1 << 20

// GraphHandler returns the Graph API double wrapped so that every Send API
// request it accepts (POST …/messages answered 2xx) is recorded in the feed
// as a FromBot message for its recipient. Point the bot's sender at it.
func (s *Sandbox) GraphHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if op, comment := commentCall(r); op != "" {
			s.serveComment(w, r, op, comment)
			return
		}
		s.recorded(w, r, s.cfg.Graph, func() string { return s.sendAccount(r.URL.Path) })
	})
}

// recorded passes r to the double graph and records a Send API request it
// accepted (POST …/messages answered 2xx) as a FromBot message of account's
// conversation with the recipient.
func (s *Sandbox) recorded(w http.ResponseWriter, r *http.Request, graph http.Handler, account func() string) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") {
		graph.ServeHTTP(w, r)
		return
	}
	body, cw, ok := passCaptured(w, r, graph)
	if ok && cw.status/100 == 2 {
		s.recordSend(account(), r.Header.Get("Content-Type"), body, cw.body.Bytes())
	}
}

// commentCall recognises a public comment reply (POST /{comment}/replies)
// or moderation (POST /{comment} with hide, DELETE /{comment}) of a comment
// made in the sandbox: op is "reply" or "moderate", "" for other calls.
func commentCall(r *http.Request) (op, comment string) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) > 0 && strings.HasPrefix(parts[0], "v") && strings.Contains(parts[0], ".") {
		parts = parts[1:] // the API version
	}
	switch {
	case len(parts) == 2 && parts[1] == "replies" && r.Method == http.MethodPost:
		return "reply", parts[0]
	case len(parts) == 1 && parts[0] != "me" && (r.Method == http.MethodPost || r.Method == http.MethodDelete):
		return "moderate", parts[0]
	}
	return "", ""
}

// serveComment passes a comment call to the Graph double and records an
// accepted one in the feed as a FromBot message whose Graph is
// {"public_reply": {comment_id, message}} or {"moderate": {comment_id, action}}.
func (s *Sandbox) serveComment(w http.ResponseWriter, r *http.Request, op, comment string) {
	body, cw, ok := passCaptured(w, r, s.cfg.Graph)
	if !ok {
		return
	}
	user := s.comments.user(comment)
	if cw.status/100 != 2 || user == "" {
		return
	}
	form, _ := url.ParseQuery(string(body))
	rec := map[string]string{"comment_id": comment}
	key := "public_reply"
	switch {
	case op == "reply":
		rec["message"] = form.Get("message")
	case r.Method == http.MethodDelete:
		key, rec["action"] = "moderate", "delete"
	case form.Get("hide") == "false":
		key, rec["action"] = "moderate", "unhide"
	default:
		key, rec["action"] = "moderate", "hide"
	}
	g, _ := json.Marshal(map[string]any{key: rec})
	s.feed.add(Message{User: user, Account: s.account(), From: FromBot, Time: s.cfg.Now().UTC(), Graph: g})
}

// sendRequest is the part of a Send API request the sandbox looks at.
type sendRequest struct {
	Recipient struct {
		ID        string `json:"id"`
		CommentID string `json:"comment_id"`
	} `json:"recipient"`
}

// sendAccount is the account of a Send API call: the id before
// "/messages" when it is one the sandbox plays, else the account played now.
func (s *Sandbox) sendAccount(path string) string {
	parts := strings.Split(strings.TrimSuffix(path, "/messages"), "/")
	if id := parts[len(parts)-1]; slices.Contains(s.Accounts(), id) {
		return id
	}
	return s.account()
}

func (s *Sandbox) recordSend(account, contentType string, body, resp []byte) {
	body = jsonBody(contentType, body)
	var req sendRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.cfg.Logger.Warn("sandbox: unreadable Send API body", "err", err)
		return
	}
	user := req.Recipient.ID
	if user == "" && req.Recipient.CommentID != "" {
		user = s.comments.user(req.Recipient.CommentID)
	}
	var out struct {
		MessageID string `json:"message_id"`
	}
	_ = json.Unmarshal(resp, &out)
	s.feed.add(Message{User: user, Account: account, From: FromBot, Time: s.cfg.Now().UTC(), MID: out.MessageID, Graph: body})
}

// jsonBody returns the Send API body as a JSON object without any
// access_token field: form-encoded bodies (recipient=…&message=…) are
// converted, JSON bodies decoded and re-encoded.
func jsonBody(contentType string, body []byte) []byte {
	obj := map[string]json.RawMessage{}
	if strings.HasPrefix(contentType, "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return body
		}
		for k := range form {
			obj[k] = formValue(form.Get(k))
		}
	} else if err := json.Unmarshal(body, &obj); err != nil {
		return body
	}
	delete(obj, "access_token")
	b, _ := json.Marshal(obj)
	return b
}

// formValue keeps JSON objects and arrays as they are and quotes the rest.
func formValue(v string) json.RawMessage {
	if (strings.HasPrefix(v, "{") || strings.HasPrefix(v, "[")) && json.Valid([]byte(v)) {
		return json.RawMessage(v)
	}
	b, _ := json.Marshal(v)
	return b
}

// captureWriter passes a response through and keeps its status and body.
type captureWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.body.Len() < maxSendBody {
		c.body.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

// maxComments bounds the comment → user map (full, it starts over).
const maxComments = 10000

// comments remembers which sandbox user wrote each comment, so the private
// reply to it shows in that user's thread.
type comments struct {
	mu sync.Mutex
	m  map[string]string
}

func newComments() *comments { return &comments{m: map[string]string{}} }

func (c *comments) put(id, user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxComments {
		clear(c.m)
	}
	c.m[id] = user
}

// user is the comment's author, or "comment:<id>" for an unknown comment.
func (c *comments) user(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if u, ok := c.m[id]; ok {
		return u
	}
	return "comment:" + id
}

// passCaptured reads r's body (up to maxSendBody), passes r to graph and
// returns the body and graph's answer as written to w; false (after a 400)
// when the body could not be read.
func passCaptured(w http.ResponseWriter, r *http.Request, graph http.Handler) ([]byte, *captureWriter, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSendBody))
	if err != nil {
		http.Error(w, "sandbox: read body", http.StatusBadRequest)
		return nil, nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	cw := &captureWriter{ResponseWriter: w}
	graph.ServeHTTP(cw, r)
	return body, cw, true
}

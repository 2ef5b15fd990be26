package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// maxInputBody bounds a POST api/send body.
const maxInputBody = 64 << 10

// sseKeepAlive is how often an idle event stream sends a comment line, so
// proxies and browsers keep it open.
const sseKeepAlive = 15 * time.Second

func (s *Sandbox) serveConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"account": s.account(), "accounts": s.Accounts(), "channel": s.Channel(),
		"channels": s.Channels(), "studio": s.cfg.Bot != nil, "clock": s.clockStatus(0)})
}

// serveAccount switches the account the studio plays: {"account": ID},
// one of /api/config's accounts; it answers like /api/config.
func (s *Sandbox) serveAccount(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Account string `json:"account"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxInputBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("sandbox: decode account: %v", err))
		return
	}
	if err := s.SetAccount(req.Account); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	s.serveConfig(w, r)
}

// serveChannel switches the channel the studio simulates: {"channel":
// "instagram"|"messenger"}, one of /api/config's channels; it answers like
// /api/config.
func (s *Sandbox) serveChannel(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Channel string `json:"channel"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxInputBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("sandbox: decode channel: %v", err))
		return
	}
	if err := s.SetChannel(req.Channel); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	s.serveConfig(w, r)
}

func (s *Sandbox) serveSend(w http.ResponseWriter, r *http.Request) {
	var in Input
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxInputBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("sandbox: decode input: %v", err))
		return
	}
	status, m, err := s.Say(r.Context(), in)
	switch {
	case errors.Is(err, ErrInput):
		writeError(w, http.StatusBadRequest, err)
	case errors.Is(err, ErrNotThreadOwner):
		writeError(w, http.StatusConflict, err)
	case err != nil:
		writeError(w, http.StatusInternalServerError, err)
	case status != http.StatusOK:
		writeJSON(w, http.StatusBadGateway, map[string]any{"status": status, "error": "the webhook handler refused the input"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"status": status, "message": m})
	}
}

func (s *Sandbox) serveMessages(w http.ResponseWriter, r *http.Request) {
	users, after, ok := usersAfter(w, r)
	if !ok {
		return
	}
	msgs := s.feed.since(s.account(), users, after)
	if msgs == nil {
		msgs = []Message{}
	}
	writeJSON(w, http.StatusOK, msgs)
}

// serveEvents streams the users' messages as Server-Sent Events: the
// history after Last-Event-ID (or ?after=) first, then new messages.
func (s *Sandbox) serveEvents(w http.ResponseWriter, r *http.Request) {
	users, after, ok := usersAfter(w, r)
	if !ok {
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	live, cancel := s.Subscribe(users...)
	defer cancel()
	last := after
	for _, m := range s.feed.since(s.account(), users, after) {
		last = writeEvent(w, m, last)
	}
	if rc.Flush() != nil {
		return
	}
	s.stream(r, w, rc, live, last)
}

func (s *Sandbox) stream(r *http.Request, w http.ResponseWriter, rc *http.ResponseController, live <-chan Message, last uint64) {
	tick := time.NewTicker(sseKeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case m, ok := <-live:
			if !ok {
				return // dropped as too slow; the browser reconnects with Last-Event-ID
			}
			last = writeEvent(w, m, last)
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// writeEvent writes m unless it was already sent (seq <= last) and returns
// the new last seq.
func writeEvent(w http.ResponseWriter, m Message, last uint64) uint64 {
	if m.Seq <= last {
		return last
	}
	b, _ := json.Marshal(m)
	fmt.Fprintf(w, "id: %d\nevent: message\ndata: %s\n\n", m.Seq, b)
	return m.Seq
}

// maxStreamUsers bounds the users of one event stream.
const maxStreamUsers = 32

// usersAfter reads the ?user= list and the sequence number to resume after.
func usersAfter(w http.ResponseWriter, r *http.Request) ([]string, uint64, bool) {
	users := r.URL.Query()["user"]
	if len(users) == 0 || len(users) > maxStreamUsers {
		writeError(w, http.StatusBadRequest, fmt.Errorf("sandbox: want 1-%d user parameters", maxStreamUsers))
		return nil, 0, false
	}
	for _, u := range users {
		if err := checkUser(u); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("sandbox: %v", err))
			return nil, 0, false
		}
	}
	raw := r.Header.Get("Last-Event-ID")
	if raw == "" {
		raw = r.URL.Query().Get("after")
	}
	if raw == "" {
		return users, 0, true
	}
	after, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("sandbox: after %q: not a sequence number", raw))
		return nil, 0, false
	}
	return users, after, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

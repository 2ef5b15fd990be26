package igtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Instagram inbox apps (see adapters/instagram/doc.go, "Routing to people").
const (
	InstagramInboxApp = "1217981644879628"
	PageInboxApp      = "263902037430900"
)

// Thread-control errors. The take error (#27) is quoted by a third party;
// the others are the double's choice where Meta documents no code
// (see adapters/instagram/doc.go).
var (
	errNotOwner   = apiErr{Code: 100, Message: "(#100) Your app is not the thread owner"}
	errOtherOwner = apiErr{Code: 100, Message: "(#100) The thread is controlled by another app"}
	errNoRouting  = apiErr{Code: 27, Message: "(#27) Take thread control is not supported when Conversation Routing is not enabled"}
)

// ThreadAction is one accepted thread-control call.
type ThreadAction struct {
	Account, User string
	// Op is pass, take, release or request.
	Op string
	// Target is the app a pass went to; Metadata what the call carried.
	Target, Metadata string
	Time             time.Time
}

// ThreadOwner returns the app that owns the thread of account and user:
// "" while the app of the double's tokens (Config.AppID) owns it or it is
// idle.
func (s *Server) ThreadOwner(account, user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owners[account+"/"+user]
}

// SetThreadOwner makes app own the thread ("" gives it back to the
// double's app), as the inbox does when an agent passes it back or takes it.
func (s *Server) SetThreadOwner(account, user, app string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setOwnerLocked(account, user, app)
}

func (s *Server) setOwnerLocked(account, user, app string) {
	if app == "" || app == s.cfg.AppID {
		delete(s.owners, account+"/"+user)
		return
	}
	s.owners[account+"/"+user] = app
}

// ThreadActions returns the accepted thread-control calls, in order.
func (s *Server) ThreadActions() []ThreadAction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ThreadAction(nil), s.threadActs...)
}

// WaitThreadActions blocks until at least n thread-control calls were
// accepted and returns them, or returns ctx's error.
func (s *Server) WaitThreadActions(ctx context.Context, n int) ([]ThreadAction, error) {
	for {
		s.mu.Lock()
		if len(s.threadActs) >= n {
			out := append([]ThreadAction(nil), s.threadActs...)
			s.mu.Unlock()
			return out, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("igtest: waiting for %d thread-control calls: %w", n, ctx.Err())
		case <-ch:
		}
	}
}

// threadRequest is the body of the *_thread_control edges.
type threadRequest struct {
	Recipient struct {
		ID string `json:"id"`
	} `json:"recipient"`
	TargetAppID json.Number `json:"target_app_id"`
	Metadata    string      `json:"metadata"`
}

// threadCall serves POST /{ig_id}/{op}_thread_control. Rules: a pass
// needs a numeric target other than the caller and a thread the caller
// owns (or idle); a release needs the caller to own it; a request needs
// another app to own it; a take works unless Config.NoConversationRouting.
// With Config.NoThreadControl every edge is refused.
func (s *Server) threadCall(w http.ResponseWriter, r *http.Request, id, op string) {
	acct, ok := s.node(w, r, id)
	if !ok {
		return
	}
	if s.cfg.NoThreadControl {
		writeError(w, 400, apiErr{Code: 100, Subcode: 33, Type: "GraphMethodException", Message: "Unsupported post request. Object with ID '" +
			acct + "' does not exist, cannot be loaded due to missing permissions, or does not support this operation."})
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, 400, *invalidParam("could not read body"))
		return
	}
	var req threadRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&req); err != nil {
		writeError(w, 400, *invalidParam("Invalid JSON for postbody: %v", err))
		return
	}
	if req.Recipient.ID == "" {
		writeError(w, 400, *invalidParam("The parameter recipient is required"))
		return
	}
	target := req.TargetAppID.String()
	if op == "pass" {
		if _, err := strconv.ParseUint(target, 10, 64); err != nil {
			writeError(w, 400, *invalidParam("param target_app_id must be a valid app id"))
			return
		}
		if target == s.cfg.AppID {
			writeError(w, 400, *invalidParam("cannot pass thread control to your own app"))
			return
		}
	}
	s.mu.Lock()
	e := s.applyThreadLocked(acct, req.Recipient.ID, op, target)
	if e == nil {
		s.threadActs = append(s.threadActs, ThreadAction{Account: acct, User: req.Recipient.ID, Op: op,
			Target: target, Metadata: req.Metadata, Time: s.now()})
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, 400, *e)
		return
	}
	writeJSON(w, 200, map[string]bool{"success": true})
}

func (s *Server) applyThreadLocked(acct, user, op, target string) *apiErr {
	owner := s.owners[acct+"/"+user]
	switch op {
	case "pass":
		if owner != "" {
			return &errNotOwner
		}
		s.setOwnerLocked(acct, user, target)
	case "take":
		if s.cfg.NoConversationRouting {
			return &errNoRouting
		}
		s.setOwnerLocked(acct, user, "")
	case "release":
		if owner != "" {
			return &errNotOwner
		}
	case "request":
		if owner == "" {
			return invalidParam("your app already controls the thread")
		}
	}
	return nil
}

// threadOwnedLocked reports an error for a message to a thread another
// app owns.
func (s *Server) threadOwnedLocked(acct, user string) *apiErr {
	if user != "" && s.owners[acct+"/"+user] != "" {
		return &errOtherOwner
	}
	return nil
}

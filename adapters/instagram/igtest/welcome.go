package igtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"unicode/utf8"
)

// WelcomeFlow is a welcome message flow the double stores
// (POST /{ig_id}/welcome_message_flows).
type WelcomeFlow struct {
	ID, Account, Name string
	Platforms         []string
	Messages          []WelcomeMessage
}

// WelcomeMessage is one message of a stored welcome flow.
type WelcomeMessage struct {
	Text         string
	QuickReplies []QuickReply
}

type welcomeRequest struct {
	FlowID    string   `json:"flow_id"`
	Name      string   `json:"name"`
	Platforms []string `json:"eligible_platforms"`
	Flow      []struct {
		Message *struct {
			Text         string       `json:"text"`
			QuickReplies []QuickReply `json:"quick_replies"`
		} `json:"message"`
	} `json:"welcome_message_flow"`
}

// WelcomeFlows returns the stored welcome flows, in creation order.
func (s *Server) WelcomeFlows() []WelcomeFlow {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]WelcomeFlow, 0, len(s.welcome))
	for _, id := range s.welcomeOrder {
		out = append(out, s.welcome[id])
	}
	return out
}

// welcomeFlows serves POST /{ig_id}/welcome_message_flows: create (answer
// {"flow_id"}) or, with flow_id, update ({"success": true}). Rules: only
// "instagram" is an eligible platform for Instagram Login; name and at
// least one message with text are required; quick replies follow the Send
// API's limits; flow_id must name a flow of the account.
func (s *Server) welcomeFlows(w http.ResponseWriter, r *http.Request, id string) {
	acct, ok := s.node(w, r, id)
	if !ok {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var req welcomeRequest
	if err == nil {
		err = json.Unmarshal(raw, &req)
	}
	if err != nil {
		writeError(w, 400, *invalidParam("Invalid JSON for postbody: %v", err))
		return
	}
	f := WelcomeFlow{ID: req.FlowID, Account: acct, Name: req.Name, Platforms: req.Platforms}
	if e := validateWelcome(&req, &f); e != nil {
		writeError(w, 400, *e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.ID != "" {
		if old, ok := s.welcome[f.ID]; !ok || old.Account != acct {
			writeError(w, 400, *invalidParam("Invalid flow_id %s", f.ID))
			return
		}
		s.welcome[f.ID] = f
		writeJSON(w, 200, map[string]bool{"success": true})
		return
	}
	s.seq++
	f.ID = fmt.Sprintf("7770%012d", s.seq)
	s.welcome[f.ID] = f
	s.welcomeOrder = append(s.welcomeOrder, f.ID)
	writeJSON(w, 200, map[string]string{"flow_id": f.ID})
}

func validateWelcome(req *welcomeRequest, f *WelcomeFlow) *apiErr {
	switch {
	case !slices.Equal(req.Platforms, []string{"instagram"}):
		return invalidParam("eligible_platforms must be [\"instagram\"]: only Instagram is supported")
	case req.Name == "":
		return invalidParam("The parameter name is required")
	case len(req.Flow) == 0:
		return invalidParam("The parameter welcome_message_flow is required")
	}
	for _, m := range req.Flow {
		if m.Message == nil || m.Message.Text == "" || len(m.Message.Text) > MaxTextBytes {
			return invalidParam("each welcome message needs text of 1 to %d bytes", MaxTextBytes)
		}
		if len(m.Message.QuickReplies) > MaxQuickReplies {
			return invalidParam("at most %d quick replies", MaxQuickReplies)
		}
		for _, q := range m.Message.QuickReplies {
			if q.ContentType != "text" || q.Title == "" || q.Payload == "" || utf8.RuneCountInString(q.Title) > MaxQuickTitle {
				return invalidParam("invalid quick reply %+v", q)
			}
		}
		f.Messages = append(f.Messages, WelcomeMessage{Text: m.Message.Text, QuickReplies: m.Message.QuickReplies})
	}
	return nil
}

package igtest

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
)

// userProfile is GET /{igsid}?fields=name,username.
func (s *Server) userProfile(w http.ResponseWriter, r *http.Request, igsid string) {
	if _, e := s.authAccount(r); e != nil {
		writeError(w, 400, *e)
		return
	}
	s.mu.Lock()
	p, ok := s.profiles[igsid]
	s.mu.Unlock()
	if !ok {
		writeError(w, 400, apiErr{Code: 230, Message: "(#230) User consent is required to access user profile"})
		return
	}
	fields := r.URL.Query().Get("fields")
	for _, f := range strings.Split(fields, ",") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(profileFields, f) {
			writeError(w, 400, apiErr{Code: 100, Message: "(#100) Tried accessing nonexisting field (" + f + ") on node type (User)"})
			return
		}
	}
	all := map[string]any{"id": igsid, "username": p.Username, "name": p.Name}
	if p.ProfilePic != "" {
		all["profile_pic"] = p.ProfilePic
	}
	for k, v := range map[string]*bool{"is_user_follow_business": p.FollowsBusiness,
		"is_business_follow_user": p.BusinessFollows, "is_verified_user": p.Verified} {
		if v != nil {
			all[k] = *v
		}
	}
	if p.FollowerCount != nil {
		all["follower_count"] = *p.FollowerCount
	}
	writeJSON(w, 200, pick(all, fields, "id"))
}

// messengerProfile stores, reads and deletes ice_breakers and persistent_menu.
func (s *Server) messengerProfile(w http.ResponseWriter, r *http.Request, id string) {
	acct, ok := s.node(w, r, id)
	if !ok {
		return
	}
	switch r.Method {
	case http.MethodPost:
		s.setMessengerProfile(w, r, acct)
	case http.MethodGet:
		s.mu.Lock()
		var data []json.RawMessage
		for _, f := range strings.Split(r.URL.Query().Get("fields"), ",") {
			if v, ok := s.msgrProf[acct][f]; ok {
				data = append(data, v)
			}
		}
		s.mu.Unlock()
		writeJSON(w, 200, map[string]any{"data": data})
	case http.MethodDelete:
		var body struct{ Fields []string }
		json.NewDecoder(r.Body).Decode(&body)
		s.mu.Lock()
		for _, f := range body.Fields {
			delete(s.msgrProf[acct], f)
		}
		s.mu.Unlock()
		writeJSON(w, 200, map[string]bool{"success": true})
	default:
		writeError(w, 400, apiErr{Code: 100, Message: "Unsupported method"})
	}
}

type localized struct {
	Locale        string            `json:"locale"`
	CallToActions []json.RawMessage `json:"call_to_actions"`
}

func (s *Server) setMessengerProfile(w http.ResponseWriter, r *http.Request, acct string) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		writeError(w, 400, *invalidParam("Invalid JSON"))
		return
	}
	if string(body["platform"]) != `"instagram"` {
		writeError(w, 400, *invalidParam("platform must be instagram"))
		return
	}
	delete(body, "platform")
	for field, v := range body {
		if e := checkLocalized(field, v); e != nil {
			writeError(w, 400, *e)
			return
		}
	}
	s.mu.Lock()
	if s.msgrProf[acct] == nil {
		s.msgrProf[acct] = map[string]json.RawMessage{}
	}
	for field, v := range body {
		s.msgrProf[acct][field] = v
	}
	s.mu.Unlock()
	writeJSON(w, 200, map[string]string{"result": "success"})
}

// checkLocalized enforces the ice-breaker / persistent-menu rules: a
// "default" locale and at most 4 ice breakers per locale.
func checkLocalized(field string, v json.RawMessage) *apiErr {
	if field != "ice_breakers" && field != "persistent_menu" {
		return invalidParam("Unsupported messenger_profile field %s", field)
	}
	var locs []localized
	if err := json.Unmarshal(v, &locs); err != nil {
		return invalidParam("%s must be a list of locales", field)
	}
	hasDefault := false
	for _, l := range locs {
		hasDefault = hasDefault || l.Locale == "default"
		if field == "ice_breakers" && len(l.CallToActions) > 4 {
			return invalidParam("at most 4 ice breakers per locale")
		}
	}
	if !hasDefault {
		return invalidParam("%s needs a default locale", field)
	}
	return nil
}

// subscribedApps enables (POST) or lists (GET) webhook fields for the account.
func (s *Server) subscribedApps(w http.ResponseWriter, r *http.Request, id string) {
	acct, ok := s.node(w, r, id)
	if !ok {
		return
	}
	if r.Method == http.MethodGet {
		s.mu.Lock()
		fields := append([]string{}, s.subFields[acct]...)
		s.mu.Unlock()
		var data []any
		if len(fields) > 0 {
			data = append(data, map[string]any{"id": s.cfg.AppID, "name": "igtest app", "subscribed_fields": fields})
		}
		writeJSON(w, 200, map[string]any{"data": data})
		return
	}
	fields := r.URL.Query().Get("subscribed_fields")
	if fields == "" {
		var body struct {
			Fields []string `json:"subscribed_fields"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		fields = strings.Join(body.Fields, ",")
	}
	if fields == "" {
		writeError(w, 400, *invalidParam("The parameter subscribed_fields is required."))
		return
	}
	s.mu.Lock()
	s.subFields[acct] = strings.Split(fields, ",")
	s.mu.Unlock()
	writeJSON(w, 200, map[string]bool{"success": true})
}

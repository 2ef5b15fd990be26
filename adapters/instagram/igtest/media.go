package igtest

import (
	"net/http"
	"slices"
	"strings"
)

// MediaInfo is one of an account's posts or reels the double serves on
// GET /{ig-media-id} (IG Media).
type MediaInfo struct {
	ID, Account           string
	Caption, Permalink    string
	MediaType             string // IMAGE, VIDEO, CAROUSEL_ALBUM
	ProductType           string // FEED, REELS, STORY, AD
	AlbumChild, LiveEnded bool   // no permalink; not readable
}

// mediaFields are the IG Media fields the double knows; others are error 100.
var mediaFields = []string{"id", "caption", "permalink", "media_type", "media_product_type", "timestamp", "username"}

// PutMedia registers (or replaces) a media object.
func (s *Server) PutMedia(m MediaInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media[m.ID] = m
}

// MediaReads returns how many times GET /{ig-media-id} was answered.
func (s *Server) MediaReads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mediaReads
}

// mediaLocked returns the media id names, if the double knows it.
func (s *Server) mediaLocked(id string) (MediaInfo, bool) {
	m, ok := s.media[id]
	return m, ok
}

// getMedia serves GET /{ig-media-id}: only media the token's account owns
// is readable (else 100/33, as for any object the token cannot see).
func (s *Server) getMedia(w http.ResponseWriter, r *http.Request, m MediaInfo) {
	acct, e := s.authAccount(r)
	if e != nil {
		writeError(w, 400, *e)
		return
	}
	if m.Account != "" && m.Account != acct || m.LiveEnded {
		writeError(w, 400, errNoObject(m.ID))
		return
	}
	fields := r.URL.Query().Get("fields")
	if fields == "" {
		fields = "id"
	}
	all := map[string]any{"id": m.ID, "media_type": m.MediaType, "media_product_type": m.ProductType}
	if m.Caption != "" {
		all["caption"] = m.Caption
	}
	if m.Permalink != "" && !m.AlbumChild {
		all["permalink"] = m.Permalink
	}
	out := map[string]any{}
	for _, f := range strings.Split(fields, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(mediaFields, f) {
			writeError(w, 400, apiErr{Code: 100, Message: "(#100) Tried accessing nonexisting field (" + f + ") on node type (IGMedia)"})
			return
		}
		if v, ok := all[f]; ok && v != "" {
			out[f] = v
		}
	}
	s.mu.Lock()
	s.mediaReads++
	s.mu.Unlock()
	writeJSON(w, 200, out)
}

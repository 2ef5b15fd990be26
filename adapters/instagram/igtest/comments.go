package igtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"
)

// MaxCommentLen is the longest public reply the double accepts, in
// characters (Instagram's comment limit; see adapters/instagram/doc.go).
const MaxCommentLen = 2200

// PermManageComments is the permission comment replies and moderation need.
const PermManageComments = "instagram_business_manage_comments"

// Comment errors, as Graph renders them (codes per adapters/instagram/doc.go).
var (
	errNoCommentPerm = apiErr{Code: 200, Message: "(#200) Requires instagram_business_manage_comments permission to manage the object"}
	errHiddenComment = apiErr{Code: 100, Message: "(#100) Cannot reply to a hidden comment"}
	errLiveComment   = apiErr{Code: 100, Message: "(#100) Cannot reply to comments on a live video; use a private reply"}
	errOwnComment    = apiErr{Code: 100, Message: "(#100) Comments by the media owner cannot be hidden"}
)

func errNoObject(id string) apiErr {
	return apiErr{Code: 100, Subcode: 33, Message: "Unsupported request. Object with ID '" + id +
		"' does not exist, cannot be loaded due to missing permissions, or does not support this operation."}
}

// CommentInfo describes a comment the double knows (PutComment).
type CommentInfo struct {
	ID, User, Media, Text string
	// Parent is the top-level comment this one replies to ("" for a
	// top-level comment).
	Parent string
	Live   bool
	At     time.Time
}

// CommentState is what the double knows of a comment now.
type CommentState struct {
	CommentInfo
	Hidden, Deleted bool
	// PrivateReplied is set once the comment got its private reply.
	PrivateReplied bool
}

// CommentAction is one accepted public reply or moderation call.
type CommentAction struct {
	Account string
	// Op is reply, hide, unhide or delete.
	Op        string
	CommentID string // the comment acted on (for reply: as requested)
	// ReplyID is the new comment's id and Parent the top-level comment it
	// went under (Instagram adds replies to a reply to the top-level one).
	ReplyID, Parent string
	Text            string
	Time            time.Time
}

// PutComment registers (or replaces) a comment, which may then receive one
// private reply within 7 days, public replies and moderation.
func (s *Server) PutComment(c CommentInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.At.IsZero() {
		c.At = s.now()
	}
	s.comments[c.ID] = &comment{user: c.User, at: c.At, info: c}
}

// Comment returns what the double knows of a comment.
func (s *Server) Comment(id string) (CommentState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.comments[id]
	if !ok {
		return CommentState{}, false
	}
	info := c.info
	info.ID, info.User, info.At = id, c.user, c.at
	return CommentState{CommentInfo: info, Hidden: c.hidden, Deleted: c.deleted, PrivateReplied: c.replied}, true
}

// CommentActions returns the accepted public replies and moderation calls,
// in order.
func (s *Server) CommentActions() []CommentAction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CommentAction(nil), s.commentActs...)
}

// WaitCommentActions blocks until at least n comment actions were accepted
// and returns them, or returns ctx's error.
func (s *Server) WaitCommentActions(ctx context.Context, n int) ([]CommentAction, error) {
	return waitFor(ctx, s, n, "comment actions", func() []CommentAction { return s.commentActs })
}

// RevokePermission withdraws a permission from every token of account
// (e.g. PermManageComments: comment calls then fail with error 200).
func (s *Server) RevokePermission(account, perm string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revoked[account] == nil {
		s.revoked[account] = map[string]bool{}
	}
	s.revoked[account][perm] = true
}

// commentCall serves POST /{comment-id}/replies (reply), POST /{comment-id}
// with hide=true|false, and DELETE /{comment-id}.
func (s *Server) commentCall(w http.ResponseWriter, r *http.Request, id, op string) {
	acct, e := s.authAccount(r)
	if e != nil {
		writeError(w, 400, *e)
		return
	}
	form, err := readForm(r)
	if err != nil {
		writeError(w, 400, *invalidParam("could not read body"))
		return
	}
	if op == "moderate" {
		switch form.Get("hide") {
		case "true":
			op = "hide"
		case "false":
			op = "unhide"
		default:
			writeError(w, 400, *invalidParam("param hide must be true or false"))
			return
		}
	}
	act := CommentAction{Account: acct, Op: op, CommentID: id, Text: form.Get("message")}
	if op == "reply" {
		switch n := utf8.RuneCountInString(act.Text); {
		case act.Text == "":
			writeError(w, 400, *invalidParam("The parameter message is required"))
			return
		case !utf8.ValidString(act.Text) || n > MaxCommentLen:
			writeError(w, 400, *invalidParam("param message must be UTF-8 text of at most %d characters", MaxCommentLen))
			return
		}
	}
	s.mu.Lock()
	e = s.applyCommentLocked(&act)
	if e == nil {
		act.Time = s.now()
		s.commentActs = append(s.commentActs, act)
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, 400, *e)
		return
	}
	if op == "reply" {
		writeJSON(w, 200, map[string]string{"id": act.ReplyID})
		return
	}
	writeJSON(w, 200, map[string]bool{"success": true})
}

// applyCommentLocked checks the rules of one comment call and applies it;
// s.mu must be held.
func (s *Server) applyCommentLocked(act *CommentAction) *apiErr {
	if s.revoked[act.Account][PermManageComments] {
		return &errNoCommentPerm
	}
	c, ok := s.comments[act.CommentID]
	if !ok && !s.cfg.StrictWindow {
		c = &comment{user: "igsid-" + act.CommentID, at: s.now()}
		s.comments[act.CommentID] = c
		ok = true
	}
	if !ok || c.deleted {
		e := errNoObject(act.CommentID)
		return &e
	}
	switch act.Op {
	case "reply":
		switch {
		case c.hidden:
			return &errHiddenComment
		case c.info.Live:
			return &errLiveComment
		}
		s.seq++
		act.ReplyID = fmt.Sprintf("1790%012d", s.seq)
		act.Parent = act.CommentID
		if c.info.Parent != "" {
			act.Parent = c.info.Parent // replies go under the top-level comment
		}
		s.comments[act.ReplyID] = &comment{user: act.Account, at: s.now(),
			info: CommentInfo{Media: c.info.Media, Text: act.Text, Parent: act.Parent}}
	case "hide", "unhide":
		if c.user == act.Account && act.Op == "hide" {
			return &errOwnComment
		}
		c.hidden = act.Op == "hide"
	case "delete":
		c.deleted = true
	}
	return nil
}

// readForm reads the parameters of a Graph call from the query and an
// url-encoded body (Graph accepts both).
func readForm(r *http.Request) (url.Values, error) {
	v := r.URL.Query()
	if r.Body == nil {
		return v, nil
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	body, err := url.ParseQuery(string(raw))
	if err != nil {
		return v, nil // not a form: only the query counts
	}
	for k, vs := range body {
		v[k] = vs
	}
	return v, nil
}

package engine

import (
	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/flows"
)

// say renders and addresses replies in order; a reply whose when is false
// is skipped.
func (st *step) say(rs []*flows.ReplySpec) {
	for _, r := range rs {
		if r.When != nil && !st.cond(r.When, "say", "") {
			continue
		}
		rep, ok := st.render(r)
		if !ok {
			st.trace("skip", st.pos(r.Pos), "reply has nothing to send")
			continue
		}
		st.emit(rep, r.Pos)
	}
}

// render turns a reply spec into a dmflow.Reply.
func (st *step) render(r *flows.ReplySpec) (dmflow.Reply, bool) {
	switch {
	case r.Text != nil:
		rep := dmflow.Reply{Kind: dmflow.ReplyText, Text: st.text(r.Text)}
		if len(rep.Text) > dmflow.MaxTextBytes {
			if cut, ok := dmflow.TruncateText(rep.Text, dmflow.MaxTextBytes, dmflow.MaxTextParts); ok {
				if st.tracing {
					st.tracef("truncated", st.pos(r.Pos), "text of ", itoa(len(rep.Text)), " bytes cut to ", itoa(len(cut)),
						" (at most ", itoa(dmflow.MaxTextParts), " messages of ", itoa(dmflow.MaxTextBytes), " bytes)")
				}
				rep.Text = cut
			}
		}
		if len(r.QuickReplies) > 0 {
			rep.QuickReplies = make([]dmflow.QuickReply, 0, len(r.QuickReplies))
		}
		for _, q := range r.QuickReplies {
			rep.QuickReplies = append(rep.QuickReplies, dmflow.QuickReply{Type: q.Type, Title: st.text(q.Title), Payload: q.Payload})
		}
		return rep, rep.Text != ""
	case len(r.Media) > 0:
		rep := dmflow.Reply{Kind: dmflow.ReplyMedia, Media: make([]dmflow.Media, 0, len(r.Media))}
		for _, m := range r.Media {
			rep.Media = append(rep.Media, dmflow.Media{Type: m.Type, URL: st.text(m.URL), AttachmentID: m.AttachmentID})
		}
		return rep, true
	case r.Heart:
		return dmflow.Reply{Kind: dmflow.ReplyLikeHeart}, true
	case r.Share != nil:
		id := st.text(r.Share)
		return dmflow.Reply{Kind: dmflow.ReplyMediaShare, PostID: id}, id != ""
	case r.Buttons != nil:
		return dmflow.Reply{Kind: dmflow.ReplyButtons, Text: st.text(r.Buttons.Text), Buttons: st.buttons(r.Buttons.Buttons)}, true
	case len(r.Cards) > 0:
		return st.cards(r.Cards), true
	case r.Typing != "":
		a := dmflow.ActionTypingOn
		if r.Typing == "off" {
			a = dmflow.ActionTypingOff
		}
		return dmflow.Reply{Kind: dmflow.ReplyAction, Action: a}, true
	case r.Seen:
		return dmflow.Reply{Kind: dmflow.ReplyAction, Action: dmflow.ActionMarkSeen}, true
	case r.React != nil:
		mid := st.ev.MID
		if st.ev.Kind != dmflow.KindMessage {
			mid = ""
		}
		return dmflow.Reply{Kind: dmflow.ReplyReact, MID: mid, Reaction: st.text(r.React)}, mid != ""
	case r.PublicReply != nil:
		rep := dmflow.Reply{Kind: dmflow.ReplyCommentReply, Text: st.text(r.PublicReply)}
		return rep, rep.Text != ""
	case r.Moderate != "":
		return dmflow.Reply{Kind: dmflow.ReplyModerate, Action: r.Moderate}, true
	}
	return dmflow.Reply{}, false
}

func (st *step) buttons(bs []*flows.ButtonSpec) []dmflow.Button {
	if len(bs) == 0 {
		return nil
	}
	out := make([]dmflow.Button, 0, len(bs))
	for _, b := range bs {
		btn := dmflow.Button{Type: "postback", Title: st.text(b.Title), Payload: b.Payload}
		if b.URL != nil {
			btn.Type, btn.Payload, btn.URL = "web_url", "", st.text(b.URL)
		}
		out = append(out, btn)
	}
	return out
}

func (st *step) cards(cs []*flows.CardSpec) dmflow.Reply {
	rep := dmflow.Reply{Kind: dmflow.ReplyGeneric, Elements: make([]dmflow.Element, 0, len(cs))}
	for _, c := range cs {
		rep.Elements = append(rep.Elements, dmflow.Element{Title: st.text(c.Title), Subtitle: st.text(c.Subtitle),
			ImageURL: st.text(c.Image), DefaultURL: st.text(c.URL), Buttons: st.buttons(c.Buttons)})
	}
	return rep
}

// onComment addresses a public reply or moderation to the comment being
// handled; false (traced) when there is none, or for a public reply to a
// live comment, which Instagram refuses ("use a private reply instead").
func (st *step) onComment(out *dmflow.Outgoing, pos flows.Pos) bool {
	ev := st.ev
	switch {
	case ev.Kind != dmflow.KindComment || ev.Comment == nil || ev.Comment.ID == "":
		st.trace("skip", st.pos(pos), string(out.Reply.Kind)+" needs a comment event: dropped")
		return false
	case ev.Comment.Live && out.Reply.Kind == dmflow.ReplyCommentReply:
		st.trace("skip", st.pos(pos), "live comments take no public reply (use a private reply): dropped")
		return false
	}
	out.Reply.Comment = ev.Comment.ID
	out.LastInbound = ev.Time
	return true
}

// emit addresses a reply to the user, or for a comment event, as the one
// private reply the comment allows.
func (st *step) emit(rep dmflow.Reply, pos flows.Pos) {
	s, ev := st.s, st.ev
	// Never tagged HUMAN_AGENT: that tag is for a person's message (an
	// operator's, through the admin API), not for what a flow says.
	out := dmflow.Outgoing{Key: s.Key, To: dmflow.Recipient{ID: s.Key.User}, Reply: rep, Cause: ev.Key, LastInbound: s.LastInbound}
	if rep.OnComment() {
		if !st.onComment(&out, pos) {
			return
		}
	} else if ev.Kind == dmflow.KindComment && ev.Comment != nil && ev.Comment.ID != "" {
		switch {
		case rep.Kind == dmflow.ReplyAction || rep.Kind == dmflow.ReplyReact:
			st.trace("skip", st.pos(pos), "sender actions cannot answer a comment")
			return
		case st.private:
			st.trace("skip", st.pos(pos), "a comment allows one private reply: dropped")
			return
		}
		st.private = true
		out.To = dmflow.Recipient{CommentID: ev.Comment.ID}
		out.LastInbound = ev.Time
	}
	if st.turn.Replies == nil {
		st.turn.Replies = make([]dmflow.Outgoing, 0, 2) // most steps send one or two
	}
	st.turn.Replies = append(st.turn.Replies, out)
	st.trace("say", st.pos(pos), string(rep.Kind))
}

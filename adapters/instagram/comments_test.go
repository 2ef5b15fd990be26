package instagram_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
)

func onComment(kind dmflow.ReplyKind, comment, textOrAction string) dmflow.Outgoing {
	r := dmflow.Reply{Kind: kind, Comment: comment}
	if kind == dmflow.ReplyCommentReply {
		r.Text = textOrAction
	} else {
		r.Action = textOrAction
	}
	m := out(r)
	m.LastInbound = testNow.Add(-30 * 24 * time.Hour) // no window applies to comments
	return m
}

// TestCommentReplyAndModeration drives every comment call against the
// double and checks what it recorded.
func TestCommentReplyAndModeration(t *testing.T) {
	srv, c := setup(t, igtest.Config{StrictWindow: true}, nil)
	srv.PutComment(igtest.CommentInfo{ID: "c1", User: user, Media: "m1", Text: "PRICE"})
	srv.PutComment(igtest.CommentInfo{ID: "c2", User: user, Media: "m1", Text: "a reply", Parent: "c1"})
	ctx := context.Background()

	id, err := c.Send(ctx, onComment(dmflow.ReplyCommentReply, "c1", "Sent you a DM 📩"))
	if err != nil || id == "" {
		t.Fatalf("public reply: id %q, err %v", id, err)
	}
	if _, err := c.Send(ctx, onComment(dmflow.ReplyCommentReply, "c2", "thanks")); err != nil {
		t.Fatalf("reply to a reply: %v", err)
	}
	for _, a := range []string{dmflow.ModerateHide, dmflow.ModerateUnhide, dmflow.ModerateDelete} {
		if _, err := c.Send(ctx, onComment(dmflow.ReplyModerate, "c1", a)); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	acts := srv.CommentActions()
	var got []string
	for _, a := range acts {
		got = append(got, a.Op+" "+a.CommentID+" "+a.Parent+" "+a.Text)
	}
	want := []string{"reply c1 c1 Sent you a DM 📩", "reply c2 c1 thanks", "hide c1  ", "unhide c1  ", "delete c1  "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("actions:\n got %q\nwant %q", got, want)
	}
	if st, _ := srv.Comment("c1"); !st.Deleted {
		t.Fatalf("c1 not deleted: %+v", st)
	}
	if len(srv.Messages()) != 0 {
		t.Fatalf("comment calls must not send messages: %+v", srv.Messages())
	}
}

// TestCommentErrors: the platform's refusals are permanent (dead letter),
// throttling is retryable, invalid requests never leave.
func TestCommentErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*igtest.Server)
		m     dmflow.Outgoing
		class instagram.Class
	}{
		{"unknown comment", nil, onComment(dmflow.ReplyCommentReply, "nope", "hi"), instagram.Permanent},
		{"hidden comment", func(s *igtest.Server) { s.PutComment(igtest.CommentInfo{ID: "c1", User: user}) }, onComment(dmflow.ReplyCommentReply, "c1", "hi"), -1},
		{"live comment", func(s *igtest.Server) { s.PutComment(igtest.CommentInfo{ID: "c1", User: user, Live: true}) },
			onComment(dmflow.ReplyCommentReply, "c1", "hi"), instagram.Permanent},
		{"own comment cannot be hidden", func(s *igtest.Server) { s.PutComment(igtest.CommentInfo{ID: "c1", User: acct}) },
			onComment(dmflow.ReplyModerate, "c1", dmflow.ModerateHide), instagram.Permanent},
		{"permission withdrawn", func(s *igtest.Server) {
			s.PutComment(igtest.CommentInfo{ID: "c1", User: user})
			s.RevokePermission(acct, igtest.PermManageComments)
		}, onComment(dmflow.ReplyModerate, "c1", dmflow.ModerateDelete), instagram.Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t, igtest.Config{StrictWindow: true}, nil)
			if tt.setup != nil {
				tt.setup(srv)
			}
			if tt.class < 0 { // hide first, then the reply is refused
				if _, err := c.Send(context.Background(), onComment(dmflow.ReplyModerate, "c1", dmflow.ModerateHide)); err != nil {
					t.Fatal(err)
				}
				tt.class = instagram.Permanent
			}
			_, err := c.Send(context.Background(), tt.m)
			var ae *instagram.APIError
			if !errors.As(err, &ae) || ae.Class != tt.class || !errors.Is(err, dmflow.ErrPermanent) {
				t.Fatalf("err %v, want an APIError of class %v", err, tt.class)
			}
		})
	}
	t.Run("invalid requests never leave", func(t *testing.T) {
		srv, c := setup(t, igtest.Config{}, nil)
		for _, m := range []dmflow.Outgoing{
			onComment(dmflow.ReplyCommentReply, "", "no comment id"),
			onComment(dmflow.ReplyCommentReply, "c1", ""),
			onComment(dmflow.ReplyCommentReply, "c1", strings.Repeat("x", dmflow.MaxCommentLen+1)),
			onComment(dmflow.ReplyModerate, "c1", "pin"),
		} {
			if _, err := c.Send(context.Background(), m); !errors.Is(err, dmflow.ErrPermanent) || !errors.Is(err, dmflow.ErrInvalid) {
				t.Errorf("%+v: err %v, want permanent and invalid", m.Reply, err)
			}
		}
		if n := srv.Calls(); n != 0 {
			t.Fatalf("%d calls reached the platform", n)
		}
	})
	t.Run("throttling is retried", func(t *testing.T) {
		srv, c := setup(t, igtest.Config{}, nil)
		srv.PutComment(igtest.CommentInfo{ID: "c1", User: user})
		srv.Inject(igtest.Fault{Path: "/replies", Status: 400, Code: instagram.CodeIGBusinessLimit, Times: 1})
		if _, err := c.Send(context.Background(), onComment(dmflow.ReplyCommentReply, "c1", "hi")); err != nil {
			t.Fatalf("after one throttle: %v", err)
		}
		if n := len(srv.CommentActions()); n != 1 {
			t.Fatalf("%d actions, want 1", n)
		}
	})
}

// TestProfileFollowFields: the follow-gating fields come through when
// Instagram sends them and stay unknown (nil) when it leaves them out.
func TestProfileFollowFields(t *testing.T) {
	srv, c := setup(t, igtest.Config{}, nil)
	yes, no, n := true, false, 1234
	srv.SetProfile(user, igtest.UserProfile{Username: "jane", FollowsBusiness: &yes, BusinessFollows: &no,
		FollowerCount: &n, Verified: &no, ProfilePic: "https://cdn.example/p.jpg"})
	srv.SetProfile("u2", igtest.UserProfile{Username: "bob"})
	p, err := c.Profile(context.Background(), acct, user)
	if err != nil || p.FollowsBusiness == nil || !*p.FollowsBusiness || *p.BusinessFollows || *p.FollowerCount != 1234 ||
		*p.Verified || p.ProfilePic != "https://cdn.example/p.jpg" {
		t.Fatalf("Profile = %+v, %v", p, err)
	}
	p, err = c.Profile(context.Background(), acct, "u2")
	if err != nil || p.FollowsBusiness != nil || p.FollowerCount != nil || p.Verified != nil {
		t.Fatalf("left-out fields must stay unknown: %+v, %v", p, err)
	}
}

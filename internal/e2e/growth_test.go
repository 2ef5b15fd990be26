package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

// launchReel is the post examples/comment-to-dm reacts to.
const launchReel = "17990000000000001"

// TestCommentToDM runs examples/comment-to-dm through `dmflow serve`
// against the Graph double: a keyword comment gets a public reply and one
// private reply (DM) with quick replies; a second keyword comment on the
// same post only a public reply; a spam comment is hidden; and with the
// comments permission withdrawn, the public reply is dead-lettered, not
// retried forever or lost.
func TestCommentToDM(t *testing.T) {
	w := newWorld(t, worldOpts{flow: "../../../examples/comment-to-dm/comment-to-dm.yaml"})
	w.start()
	g := w.graph
	g.PutMedia(igtest.MediaInfo{ID: launchReel, Account: account, Caption: "New collection 🌸 comment PRICE",
		Permalink: "https://www.instagram.com/reel/Cabc123/", MediaType: "VIDEO", ProductType: "REELS"})
	g.PutComment(igtest.CommentInfo{ID: "c1", User: "u1", Media: launchReel, Text: "PRICE please"})
	g.PutComment(igtest.CommentInfo{ID: "c2", User: "u1", Media: launchReel, Text: "price?"})
	g.PutComment(igtest.CommentInfo{ID: "c3", User: "u2", Media: launchReel, Text: "free followers https://spam.example"})

	w.mustPost(w.wh.Comment(account, "u1", "ann.designs", "c1", launchReel, "PRICE please"))
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(20*time.Second))
	defer cancel()
	acts, err := g.WaitCommentActions(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if a := acts[0]; a.Op != "reply" || a.CommentID != "c1" || a.Text != "Sent you a DM, @ann.designs 📩" {
		t.Fatalf("public reply: %+v", a)
	}
	dms := w.waitReplies("u1", 1, 20*time.Second)
	msgs := g.Messages()
	if !strings.Contains(dms[0], "price list") || msgs[0].Recipient.CommentID != "c1" || len(msgs[0].Message.QuickReplies) != 2 {
		t.Fatalf("private reply: %+v", msgs[0])
	}
	// lookup_media: the DM names the reel, looked up once (cached).
	if !strings.Contains(dms[0], "from https://www.instagram.com/reel/Cabc123/") {
		t.Fatalf("private reply without the reel's permalink: %q", dms[0])
	}

	// The same commenter again on the same post: a public nudge, no second DM.
	w.mustPost(w.wh.Comment(account, "u1", "ann.designs", "c2", launchReel, "price?"))
	acts, err = g.WaitCommentActions(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if a := acts[1]; a.Op != "reply" || a.CommentID != "c2" || a.Text != "Already in your DMs 📩" {
		t.Fatalf("second public reply: %+v", a)
	}

	// A comment with a link is hidden.
	w.mustPost(w.wh.Comment(account, "u2", "spammer", "c3", launchReel, "free followers https://spam.example"))
	if _, err := g.WaitCommentActions(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if st, _ := g.Comment("c3"); !st.Hidden {
		t.Fatalf("c3 not hidden: %+v", st)
	}
	w.waitIdle(20 * time.Second)
	if n := len(w.replies("u1")); n != 1 {
		t.Fatalf("u1 got %d DMs, want 1 (dedupe per post)", n)
	}
	if n := g.MediaReads(); n != 1 {
		t.Fatalf("%d media lookups for 3 comments on one reel, want 1 (cached)", n)
	}

	// Without instagram_business_manage_comments the platform refuses both
	// the public and the private reply (error 200): dead letters.
	g.RevokePermission(account, igtest.PermManageComments)
	w.mustPost(w.wh.Comment(account, "u3", "bob", "c4", launchReel, "PRICE"))
	testutil.EventuallyWithin(t, 20*time.Second, "two dead letters", func() bool {
		_, body := w.admin("GET", "/admin/deadletters", "")
		return strings.Count(body, `"seq"`) >= 2
	})
	_, body := w.admin("GET", "/admin/deadletters", "")
	if !strings.Contains(body, "comment_reply") || !strings.Contains(body, "(#200)") {
		t.Fatalf("dead letters: %s", body)
	}
	if n := len(g.CommentActions()); n != 3 {
		t.Fatalf("%d comment actions accepted, want 3", n)
	}

	// A Click-to-Instagram-Direct ad's first message lands in the ad
	// welcome (entry: ad:<id>), an ig.me ref in an open thread too.
	w.mustPost(w.wh.AdReferral(account, "u5", "m-ad-1", "Hi! Is this available?", "120210000000001", "spring"))
	got := w.waitReplies("u5", 1, 20*time.Second)
	if !strings.Contains(got[0], "You came from our launch ad") {
		t.Fatalf("ad welcome: %q", got)
	}
	w.mustPost(w.wh.Referral(account, "u5", "launch"))
	got = w.waitReplies("u5", 2, 20*time.Second)
	if !strings.Contains(got[1], "You came from our launch ad") {
		t.Fatalf("ig.me referral: %q", got)
	}
}

// TestFollowToUnlock runs examples/follow-to-unlock through `dmflow serve`
// against the Graph double: the profile the bot fetches says the user does
// not follow the account, so the guide stays locked and "Check again" says
// so; once the double says they follow, the next "Check again" (a state
// with refresh_profile, whose input gets a fresh profile despite the cached
// one) unlocks it. A user without a readable profile is "not yet".
func TestFollowToUnlock(t *testing.T) {
	w := newWorld(t, worldOpts{flow: "../../../examples/follow-to-unlock/follow-to-unlock.yaml"})
	w.start()
	g := w.graph
	no := false
	g.SetProfile("u1", igtest.UserProfile{Username: "bob", FollowsBusiness: &no})

	w.mustPost(w.wh.Text(account, "u1", "m-f-1", "guide"))
	if got := w.waitReplies("u1", 1, 20*time.Second); !strings.Contains(got[0], "for our followers") {
		t.Fatalf("guide before following: %q", got)
	}
	w.mustPost(w.wh.QuickReply(account, "u1", "m-f-2", "Check again", "CHECK_AGAIN"))
	if got := w.waitReplies("u1", 2, 20*time.Second); !strings.Contains(got[1], "can't see the follow yet") {
		t.Fatalf("check before following: %q", got)
	}
	g.SetFollows("u1", true)
	w.mustPost(w.wh.QuickReply(account, "u1", "m-f-3", "Check again", "CHECK_AGAIN"))
	if got := w.waitReplies("u1", 3, 20*time.Second); !strings.Contains(got[2], "Thanks for following") {
		t.Fatalf("check after following: %q", got)
	}

	// A user whose profile Instagram will not give (the double answers
	// error 230, "User consent is required"): the follow status is
	// unknown, read as "not yet" — a reply, no failed turn, no dead letter.
	w.mustPost(w.text("u2", "m-f-4", "guide"))
	if got := w.waitReplies("u2", 1, 20*time.Second); !strings.Contains(got[0], "for our followers") {
		t.Fatalf("guide without a profile: %q", got)
	}
	w.mustPost(w.wh.QuickReply(account, "u2", "m-f-5", "Check again", "CHECK_AGAIN"))
	if got := w.waitReplies("u2", 2, 20*time.Second); !strings.Contains(got[1], "can't see the follow yet") {
		t.Fatalf("check without a profile: %q", got)
	}
	w.waitIdle(20 * time.Second)
	for _, path := range []string{"/admin/deadletters", "/admin/failed"} {
		if _, body := w.admin("GET", path, ""); strings.Contains(body, `"u2"`) {
			t.Fatalf("%s after an unknown profile: %s", path, body)
		}
	}
}

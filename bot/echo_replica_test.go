package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/testutil"
)

// lookingStore reports on looked each time the bot lists a user's pending
// replies, as a worker holding an unknown echo does while it waits.
type lookingStore struct {
	dmflow.Store
	looked chan dmflow.SessionKey
}

func (s lookingStore) PendingOutbox(ctx context.Context, queue string, key dmflow.SessionKey, limit int) ([]dmflow.OutboxItem, error) {
	select {
	case s.looked <- key:
	default:
	}
	return s.Store.(interface {
		PendingOutbox(context.Context, string, dmflow.SessionKey, int) ([]dmflow.OutboxItem, error)
	}).PendingOutbox(ctx, queue, key, limit)
}

// queueReply puts a reply to user u in the outbox and claims it as owner
// "other", a replica that sends it while this bot processes the echo.
func queueReply(t *testing.T, st dmflow.Store, u, text string) dmflow.OutboxItem {
	t.Helper()
	out := dmflow.Outgoing{Key: key(u), To: dmflow.Recipient{ID: u}, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: text}}
	if err := st.Commit(ctx, dmflow.Commit{Key: key(u), Outbox: []dmflow.Outgoing{out}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	items, err := st.ClaimOutbox(ctx, dmflow.QueueDM, dmflow.Claim{Owner: "other", Max: 10, Lease: time.Hour, Now: time.Now()})
	if err != nil || len(items) != 1 {
		t.Fatalf("claim %d items, %v", len(items), err)
	}
	return items[0]
}

// TestEchoOfAnotherReplicasReply: the echo of a reply another replica
// sends reaches this bot's inbox before that replica acknowledged it, with
// content this bot cannot match (as a template is echoed). The bot waits
// while the user has replies in the outbox; the acknowledgement remembers
// the reply's id, and the echo is recognised as the bot's own. An echo
// that stays unknown hands off once the user's replies left the outbox.
func TestEchoOfAnotherReplicasReply(t *testing.T) {
	s := newSender()
	cfg := testConfig(s)
	st := cfg.Store
	looked := make(chan dmflow.SessionKey, 1)
	cfg.Store = lookingStore{Store: st, looked: looked}
	b := start(t, cfg)
	handedOff := func(u string) bool {
		sess, err := st.GetSession(ctx, key(u))
		return err == nil && sess.Handoff != nil
	}
	it := queueReply(t, st, "u1", "a template")
	ingest(t, b, echo("u1", "mid.other")) // text "from the inbox": no content match
	// The worker holds the echo while u1 has a reply in the outbox; wait
	// until it looked (it holds either way, this only makes sure the
	// acknowledgement below comes while it waits).
	testutil.Recv(t, looked, "the worker looking at u1's pending replies")
	if err := st.AckOutbox(ctx, "other", time.Now(), dmflow.Ack{Seq: it.Seq, Remember: "echo:mid.other"}); err != nil {
		t.Fatal(err)
	}
	ingest(t, b, echo("u1", "mid.person"))
	eventually(t, "the person's echo handed off", func() bool { return handedOff("u1") })
	hist, err := st.History(ctx, key("u1"), 0)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history %d items (%v), want both echoes", len(hist), err)
	}
	sess, _ := st.GetSession(ctx, key("u1"))
	if sess.Handoff.Since.Before(hist[1].Received) {
		t.Fatalf("handed off at %v, before the person's echo arrived (%v): the bot's own echo handed off", sess.Handoff.Since, hist[1].Received)
	}
}

// TestEchoOfAPartOfALongReply: a reply text above dmflow.MaxTextBytes is
// sent in parts; the echo of a part other than the last (whose id the
// Send API client does not return) matches the pending reply's text.
func TestEchoOfAPartOfALongReply(t *testing.T) {
	s := newSender()
	cfg := testConfig(s)
	cfg.EchoGrace = time.Millisecond
	st := cfg.Store
	b := start(t, cfg)
	part1, part2 := strings.Repeat("lorem ipsum ", 80), strings.Repeat("dolor sit ", 80)
	queueReply(t, st, "u1", part1+"\n\n"+part2)
	ingest(t, b, echoOf("u1", "mid.part1", strings.TrimSpace(part1)))
	ingest(t, b, echoOf("u2", "mid.short", "ipsum")) // u2 has no pending reply: a person
	eventually(t, "inbox drained", func() bool {
		n, err := st.InboxDepth(ctx)
		return err == nil && n == 0
	})
	if sess, err := st.GetSession(ctx, key("u1")); err == nil && sess.Handoff != nil {
		t.Fatal("the echo of a part of a long reply handed off")
	}
	if sess, err := st.GetSession(ctx, key("u2")); err != nil || sess.Handoff == nil {
		t.Fatalf("a person's echo did not hand off: %+v %v", sess, err)
	}
}

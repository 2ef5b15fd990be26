package bot

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/mem"
)

type nopEngine struct{}

func (nopEngine) Step(context.Context, *dmflow.Session, dmflow.Event, time.Time) (*dmflow.Turn, error) {
	return &dmflow.Turn{}, nil
}

type nopSender struct{}

func (nopSender) Send(context.Context, dmflow.Outgoing) (string, error) { return "", nil }

// TestAckBatchFindsTheLostLease: one AckOutbox call acknowledges the
// deliveries of several users; when the store reports a lost lease, only
// the users whose lease is really gone are marked lost, and every item is
// acknowledged either way.
func TestAckBatchFindsTheLostLease(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	st := mem.New(nil)
	b, err := New(Config{Store: st, Sender: nopSender{}, Engine: nopEngine{}, Owner: "me", Lease: time.Minute,
		Clock: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	keep, gone := dmflow.SessionKey{Account: "a", User: "keep"}, dmflow.SessionKey{Account: "a", User: "gone"}
	for _, k := range []dmflow.SessionKey{keep, gone} {
		out := dmflow.Outgoing{Key: k, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"}}
		if err := st.Commit(ctx, dmflow.Commit{Owner: "me", Key: k, Outbox: []dmflow.Outgoing{out, out}, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	items, err := st.ClaimOutbox(ctx, dmflow.QueueDM, dmflow.Claim{Owner: "me", Max: 10, Lease: time.Minute, Now: now})
	if err != nil || len(items) != 4 {
		t.Fatalf("claimed %d items, %v; want 4", len(items), err)
	}
	// Another replica takes "gone" over after it was released.
	if err := st.ReleaseOutbox(ctx, dmflow.QueueDM, "me", gone); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimOutbox(ctx, dmflow.QueueDM, dmflow.Claim{Owner: "other", Max: 10, Lease: time.Minute, Now: now}); err != nil {
		t.Fatal(err)
	}
	var batch []*ackReq
	for _, it := range items {
		if it.Seq == items[0].Seq || it.Key == gone {
			batch = append(batch, &ackReq{key: it.Key, ack: dmflow.Ack{Seq: it.Seq}})
		}
	}
	b.dm.ackAll(batch, nil)
	for _, r := range batch {
		if r.err != nil || r.lost != (r.key == gone) {
			t.Errorf("%s: lost %v, err %v; want lost %v, no error", r.key, r.lost, r.err, r.key == gone)
		}
	}
	if n, err := st.OutboxDepth(ctx, dmflow.QueueDM); err != nil || n != 4-len(batch) {
		t.Errorf("outbox depth %d, %v; want %d (every item of the batch acknowledged)", n, err, 4-len(batch))
	}
}

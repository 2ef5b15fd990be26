package bot_test

import (
	"testing"

	"github.com/dmflow/dmflow"
)

// TestIngestKeepsValidEventsOfMixedBatch: events no store can keep (no
// account, no user, a NUL byte) are dropped and counted; the rest of the
// batch is stored and Ingest succeeds, so the webhook answers 200.
func TestIngestKeepsValidEventsOfMixedBatch(t *testing.T) {
	cfg := testConfig(newSender())
	b, err := newBot(cfg)
	if err != nil {
		t.Fatal(err)
	}
	noAccount := msg("u2", "2", "x")
	noAccount.Account = ""
	nul := msg("u\x003", "3", "y")
	noUser := msg("", "4", "z")
	nulKey := msg("u5", "5", "w")
	nulKey.Key = "m:\x005"
	if err := b.Ingest(ctx, []dmflow.Event{msg("u1", "1", "hi"), noAccount, nul, noUser, nulKey, msg("u6", "6", "ok")}); err != nil {
		t.Fatalf("Ingest: %v", err)
	}
	if n, err := cfg.Store.InboxDepth(ctx); err != nil || n != 2 {
		t.Fatalf("inbox depth %d (%v), want the 2 valid events", n, err)
	}
	if n := metric(t, b.Metrics(), "dmflow_events_invalid_total"); n != 4 {
		t.Fatalf("dmflow_events_invalid_total = %v, want 4", n)
	}
	if n := metric(t, b.Metrics(), "dmflow_events_ingested_total"); n != 2 {
		t.Fatalf("dmflow_events_ingested_total = %v, want 2", n)
	}
}

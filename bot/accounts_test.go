package bot_test

import (
	"net/http/httptest"
	"testing"

	"github.com/dmflow/dmflow"
)

// TestNoticesPerAccount: with NoticeTargets each account's notices go to
// its own URL, and an account without one records none.
func TestNoticesPerAccount(t *testing.T) {
	sinks := map[string]*noticeSink{"a": {ch: make(chan dmflow.Notice, 100)}, "b": {ch: make(chan dmflow.Notice, 100)}}
	urls := map[string]string{}
	for acct, s := range sinks {
		srv := httptest.NewServer(s)
		defer srv.Close()
		urls[acct] = srv.URL
	}
	s := newSender()
	cfg := testConfig(s)
	cfg.NoticeTargets = func(account string) (string, string) {
		if u := urls[account]; u != "" {
			return u, "hook-secret"
		}
		return "", ""
	}
	b := start(t, cfg)
	var evs []dmflow.Event
	for _, acct := range []string{"a", "b", "c"} {
		ev := msg("u", acct, "hi")
		ev.Key, ev.Account = "m:"+acct, acct
		evs = append(evs, ev)
	}
	ingest(t, b, evs...)
	for acct, sink := range sinks {
		for range 2 { // message.received, reply.sent
			if no := <-sink.ch; no.Key.Account != acct {
				t.Fatalf("sink %s got a notice of account %s: %+v", acct, no.Key.Account, no)
			}
		}
	}
	c := dmflow.SessionKey{Account: "c", User: "u"}
	eventually(t, "account c's reply", func() bool { return len(s.texts(c)) == 1 })
	eventually(t, "replies acknowledged, no notice pending", func() bool { // reply.sent is queued before the ack
		return metric(t, b.Metrics(), "dmflow_outbox_depth_dm") == 0 && metric(t, b.Metrics(), "dmflow_outbox_depth_notices") == 0
	})
	if v := metric(t, b.Metrics(), "dmflow_deliveries_total", "queue", "notices", "result", "dead"); v != 0 {
		t.Errorf("%v notices dead-lettered: account c's were recorded", v)
	}
	for acct, sink := range sinks {
		sink.mu.Lock()
		n, bad := len(sink.got), sink.badSigs
		sink.mu.Unlock()
		if n != 2 || bad != 0 {
			t.Errorf("sink %s: %d notices (want 2), %d bad signatures", acct, n, bad)
		}
	}
	if v := metric(t, b.Metrics(), "dmflow_account_events_total", "account", "c", "result", "ok"); v != 1 {
		t.Errorf("account c events %v", v)
	}
}

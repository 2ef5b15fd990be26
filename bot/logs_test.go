package bot_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/dmflow/dmflow"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// TestLogsCarryTheAccount: the log lines about a user's event, send, retry
// and dead letter name the business account.
func TestLogsCarryTheAccount(t *testing.T) {
	var buf lockedBuffer
	s := newSender()
	s.fail = func(m dmflow.Outgoing, attempt int) error {
		switch {
		case m.Reply.Text == "re: dead":
			return dmflow.ErrPermanent
		case m.Reply.Text == "re: flaky" && attempt == 1:
			return errors.New("graph: 500")
		}
		return nil
	}
	cfg := testConfig(s)
	cfg.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b := start(t, cfg)
	ingest(t, b, msg("u1", "e1", "boom"), msg("u2", "e2", "panic"), msg("u3", "e3", "dead"), msg("u4", "e4", "flaky"))
	eventually(t, "the flaky reply sent", func() bool { return len(s.texts(key("u4"))) == 1 })
	eventually(t, "the dead letter", func() bool {
		dl, err := cfg.Store.DeadLetters(t.Context(), 10)
		return err == nil && len(dl) == 1
	})
	want := map[string]bool{"event failed": false, "engine panic": false, "delivery failed, will retry": false,
		"delivery failed permanently, dead-lettered": false}
	for _, l := range buf.lines(t) {
		msg, _ := l["msg"].(string)
		_, about := l["user"]
		if _, ok := want[msg]; ok {
			want[msg], about = true, true
		}
		if about && l["account"] != "acct" {
			t.Errorf("log line without the account: %v", l)
		}
	}
	for m, seen := range want {
		if !seen {
			t.Errorf("no %q line; logs:\n%s", m, strings.TrimSpace(buf.b.String()))
		}
	}
}

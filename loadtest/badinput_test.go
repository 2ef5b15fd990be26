package loadtest_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/loadtest"
)

// TestBadInputThroughServer posts hostile and odd deliveries to the real
// server and checks each status and how many events it stored (the
// ingested counter). internal/e2e covers forged and missing signatures,
// oversized and malformed bodies once; this table adds replays, unknown
// kinds, huge and invalid text, and checks the store count for each.
func TestBadInputThroughServer(t *testing.T) {
	g, err := loadtest.StartGraph()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	s := newSite(t, g.URL)
	p := s.start("--max-body", "65536")
	acct, user := loadtest.Account(0, 1), loadtest.User(0)
	ms := strconv.FormatInt(time.Now().UnixMilli(), 10) // inside the messaging window
	msg := func(mid, text string) []byte {
		return []byte(`{"object":"instagram","entry":[{"id":"` + acct + `","time":` + ms + `,"messaging":[{"sender":{"id":"` + user +
			`"},"recipient":{"id":"` + acct + `"},"timestamp":` + ms + `,"message":{"mid":"` + mid + `","text":` + text + `}}]}]}`)
	}
	good := msg("m.bad.1", `"1"`)
	unknown := []byte(`{"object":"instagram","entry":[{"id":"` + acct + `","time":` + ms + `,"messaging":[{"sender":{"id":"` + user +
		`"},"recipient":{"id":"` + acct + `"},"timestamp":` + ms + `,"hologram":{"beam":"up"}}]}]}`)
	for _, tc := range []struct {
		name   string
		body   []byte
		sig    string // "" signs with the right secret; "-" sends none
		status int
		stored float64 // events stored by this delivery
	}{
		{"valid", good, "", 200, 1},
		{"replayed delivery", good, "", 200, 0},
		{"forged signature", msg("m.bad.2", `"2"`), "sha256=" + strings.Repeat("00", 32), 403, 0},
		{"signature of another body", msg("m.bad.3", `"3"`), loadtest.Sign(secret, good), 403, 0},
		{"missing signature", msg("m.bad.4", `"4"`), "-", 401, 0},
		{"sha1 signature only", msg("m.bad.5", `"5"`), "-sha1", 401, 0},
		{"oversized", msg("m.bad.6", `"`+strings.Repeat("x", 70000)+`"`), "", 413, 0},
		{"malformed JSON", []byte(`{"object":"instagram","entry":[{"id":`), "", 400, 0},
		{"not an object", []byte(`"instagram"`), "", 400, 0},
		{"other object", []byte(`{"object":"page","entry":[]}`), "", 200, 0},
		{"unknown event kind", unknown, "", 200, 0},
		{"huge text", msg("m.bad.7", `"2 `+strings.Repeat("é", 20000)+`"`), "", 200, 1},
		{"invalid UTF-8", msg("m.bad.8", "\"3 \xff\xfe\""), "", 200, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := metrics(t, p.URL())["dmflow_events_ingested_total"]
			if got := post(t, s.webhook(), tc.body, tc.sig); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
			if got := metrics(t, p.URL())["dmflow_events_ingested_total"] - before; got != tc.stored {
				t.Fatalf("%v events stored, want %v", got, tc.stored)
			}
		})
	}
	waitIdle(t, p.URL(), 20*time.Second)
	// The valid message, the huge text (split into 1000-byte messages, cut
	// at dmflow.MaxTextParts of them) and the invalid UTF-8 are answered
	// (the counter counts them 1, 2, 3); nothing else is.
	var counts []int
	for _, r := range g.Replies(user) {
		if r.N > 0 {
			counts = append(counts, r.N)
		}
	}
	if want := 1 + dmflow.MaxTextParts + 1; fmt.Sprint(counts) != "[1 2 3]" || len(g.Replies(user)) != want {
		t.Fatalf("counter replies %v in %d messages, want 1, 2, 3 in %d (the huge text split and cut)", counts, len(g.Replies(user)), want)
	}
}

func post(t *testing.T, url string, body []byte, sig string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	switch sig {
	case "":
		req.Header.Set("X-Hub-Signature-256", loadtest.Sign(secret, body))
	case "-sha1":
		req.Header.Set("X-Hub-Signature", "sha1="+strings.Repeat("ab", 20))
	case "-":
	default:
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

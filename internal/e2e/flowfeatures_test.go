package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow/internal/testutil"
)

// TestSplitThroughServe runs examples/welcome-ab (issue 19: settle and
// split) through `dmflow serve` against the Graph double. The split is
// deterministic — user-1 gets the warm welcome and user-4 the short one,
// as in the example's transcripts (ab.test.yaml) — the variant is in the
// stored session and counted in dmflow_experiment_assignments_total, a
// burst is answered as one turn once the 3 s settle window closes, and the
// funnel (entered, left, failed asks) is in dmflow_funnel_total and
// `dmflow admin stats --flow welcome`.
func TestSplitThroughServe(t *testing.T) {
	w := newWorld(t, worldOpts{flow: "../../../examples/welcome-ab/welcome.yaml"})
	w.start()

	// One delivery (Meta batches entries): both messages are in the inbox
	// before the window's timer is even armed, so the burst settles into
	// one turn however slow the machine is.
	w.mustPost(batch(t, w.text("user-1", "a1", "hi"), w.text("user-1", "a2", "I need help")))
	w.mustPost(w.text("user-4", "b1", "hi"))
	if got := w.waitReplies("user-1", 1, 20*time.Second); !strings.Contains(got[0], "thanks for reaching out") {
		t.Fatalf("user-1 (warm): %q", got)
	}
	if got := w.waitReplies("user-4", 1, 20*time.Second); got[0] != "Hi! What do you need?" {
		t.Fatalf("user-4 (short): %q", got)
	}
	w.waitIdle(20 * time.Second)
	if got := w.replies("user-1"); len(got) != 1 {
		t.Fatalf("the burst got %d welcomes, want 1 (settled): %q", len(got), got)
	}
	for user, variant := range map[string]string{"user-1": "warm", "user-4": "short"} {
		code, body := w.admin(http.MethodGet, "/admin/sessions/"+account+"/"+user, "")
		if code != http.StatusOK || !strings.Contains(body, `"welcome_v2": "`+variant+`"`) && !strings.Contains(body, `"welcome_v2":"`+variant+`"`) {
			t.Fatalf("session of %s: %d %s", user, code, body)
		}
		metric := `dmflow_experiment_assignments_total{experiment="welcome_v2",variant="` + variant + `"}`
		testutil.EventuallyWithin(t, 20*time.Second, metric+" to be 1", func() bool { return w.metric(metric) == 1 })
	}

	// The topic is the settled burst, answered in the variant's words.
	w.mustPost(w.text("user-1", "a3", "my order is late"))
	if got := w.waitReplies("user-1", 2, 20*time.Second); !strings.Contains(got[1], `Got it: "my order is late"`) {
		t.Fatalf("after the welcome: %q", got)
	}
	w.mustPost(w.text("user-1", "a4", "ann@example.com"))
	if got := w.waitReplies("user-1", 3, 20*time.Second); !strings.Contains(got[2], "(warm welcome)") {
		t.Fatalf("the variant in a reply: %q", got)
	}

	// The funnel of this traffic (issue 19, item 3): user-4 fails the
	// e-mail ask once. Per-state counts in Prometheus (labels from the
	// flow file) and through the admin API.
	w.mustPost(w.text("user-4", "b2", "refund"))
	w.waitReplies("user-4", 2, 20*time.Second)
	w.mustPost(w.text("user-4", "b3", "not an address"))
	if got := w.waitReplies("user-4", 3, 20*time.Second); !strings.Contains(got[2], "doesn't look like an e-mail") {
		t.Fatalf("retry: %q", got)
	}
	w.waitIdle(20 * time.Second)
	for metric, want := range map[string]float64{
		`dmflow_funnel_total{flow="welcome",kind="entered",name="welcome_warm"}`:  1,
		`dmflow_funnel_total{flow="welcome",kind="entered",name="welcome_short"}`: 1,
		`dmflow_funnel_total{flow="welcome",kind="entered",name="ask_email"}`:     2,
		`dmflow_funnel_total{flow="welcome",kind="ask_failed",name="ask_email"}`:  1,
	} {
		testutil.EventuallyWithin(t, 20*time.Second, fmt.Sprintf("%s to be %v", metric, want), func() bool { return w.metric(metric) == want })
	}
	out, code := w.cli("stats", "--flow", "welcome")
	if code != 0 || !regexp.MustCompile(`(?m)^ask_email\s+2\s+1\s+0\s+0\s+1$`).MatchString(out) {
		t.Fatalf("dmflow admin stats --flow welcome: exit %d\n%s", code, out)
	}
}

// TestLocalesThroughServe runs examples/faq (issue 19: locales) through
// `dmflow serve`: the default locale first, Spanish once the user picks
// it (the flow's lang variable), a localized chip's payload is the same in
// both languages, and the locale sticks in the stored session.
func TestLocalesThroughServe(t *testing.T) {
	w := newWorld(t, worldOpts{flow: "../../../examples/faq/faq.yaml"})
	w.start()

	w.mustPost(w.text("u1", "l1", "hola"))
	got := w.waitReplies("u1", 3, 20*time.Second)
	if got[0] != "Hi! I'm the Acme help bot 👋" {
		t.Fatalf("default locale: %q", got)
	}
	w.mustPost(w.text("u1", "l2", "Español"))
	got = w.waitReplies("u1", 5, 20*time.Second)
	if !slices.Equal(got[3:5], []string{"¡Hola! Soy el bot de ayuda de Acme 👋", "Pregúntame por el horario, los envíos o las devoluciones."}) {
		t.Fatalf("after Español: %q", got[3:])
	}
	if msgs := w.graph.Messages(); len(msgs[4].Message.QuickReplies) != 3 || msgs[4].Message.QuickReplies[1].Title != "Envíos" || msgs[4].Message.QuickReplies[1].Payload != "SHIPPING" {
		t.Fatalf("localized chips: %+v", msgs[4].Message.QuickReplies)
	}
	w.mustPost(w.wh.QuickReply(account, "u1", "l3", "Envíos", "SHIPPING"))
	got = w.waitReplies("u1", 6, 20*time.Second)
	if !strings.HasPrefix(got[5], "Enviamos los pedidos en 1 día laborable") {
		t.Fatalf("a localized chip's answer: %q", got[5:])
	}
	if code, body := w.admin(http.MethodGet, "/admin/sessions/"+account+"/u1", ""); code != http.StatusOK || !strings.Contains(body, `"lang"`) || !strings.Contains(body, `"es"`) {
		t.Fatalf("session: %d %s", code, body)
	}
}

// batch joins webhook bodies into one delivery, as Meta batches entries.
func batch(t *testing.T, bodies ...[]byte) []byte {
	t.Helper()
	type envelope struct {
		Object string            `json:"object"`
		Entry  []json.RawMessage `json:"entry"`
	}
	var out envelope
	for _, b := range bodies {
		var in envelope
		if err := json.Unmarshal(b, &in); err != nil {
			t.Fatal(err)
		}
		out.Object, out.Entry = in.Object, append(out.Entry, in.Entry...)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

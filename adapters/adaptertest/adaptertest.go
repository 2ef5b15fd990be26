// Package adaptertest is the conformance suite of a dmflow channel adapter:
// the inbound dmflow.Adapter (handshake, signature, parsing into events
// with stable dedupe keys) and the outbound dmflow.Sender (typed error
// classes, the messaging window, text limits, reply kinds the channel
// cannot render), run against the adapter's platform double. Every adapter
// (adapters/instagram, adapters/messenger, ...) calls Run from its tests,
// in the spirit of store/storetest.
//
// Conventions the suite relies on beyond the interface comments:
//   - Injected faults last until Clear; a Sender under test must not retry
//     internally forever (configure it with few or no in-call retries).
//   - A reply outside the 24-hour window (LastInbound 30 days ago, no tag)
//     is refused with dmflow.ErrOutsideWindow before any request.
//   - A reply kind missing from Capabilities().Replies fails as permanent
//     (ErrPermanent or ErrInvalid) without reaching the platform.
//   - Text longer than Capabilities().MaxText is split into parts that each
//     fit, or refused as permanent; it is never sent over the limit.
package adaptertest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dmflow/dmflow"
)

// Fault is a platform failure the double can inject into sends.
type Fault int

// Faults, each with the class its error must have.
const (
	// FaultThrottle: the platform's rate limit (retryable, ideally with a
	// RetryAfter).
	FaultThrottle Fault = iota
	// FaultPermanent: a request the platform refuses for good (permanent).
	FaultPermanent
	// FaultAmbiguous: the platform may have delivered (ambiguous).
	FaultAmbiguous
	// FaultOutsideWindow: the platform's own window refusal (permanent,
	// wrapping dmflow.ErrOutsideWindow).
	FaultOutsideWindow
)

var faultNames = map[Fault]string{FaultThrottle: "throttle", FaultPermanent: "permanent",
	FaultAmbiguous: "ambiguous", FaultOutsideWindow: "outside_window"}

// Delivery is a sample webhook body and the event kinds it must yield, in
// order.
type Delivery struct {
	Name  string
	Body  []byte
	Kinds []dmflow.EventKind
}

// Harness is what an adapter gives the suite.
type Harness struct {
	Adapter dmflow.Adapter
	// Handshake is a subscription query the adapter accepts, answered
	// with Challenge.
	Handshake url.Values
	Challenge string
	// Sign returns the headers of a correctly signed delivery of body.
	Sign func(body []byte) http.Header
	// Deliveries are sample bodies covering the channel's event kinds.
	Deliveries []Delivery

	// Sender sends through the platform double.
	Sender dmflow.Sender
	// To is a deliverable message template: Key and To of a user inside
	// the window; the suite sets Reply (and LastInbound).
	To dmflow.Outgoing
	// Sent returns the text of every message the double accepted so far
	// ("" for non-text messages), oldest first.
	Sent func() []string
	// Inject makes every later send fail with f until Clear.
	Inject func(f Fault)
	Clear  func()
}

// Run runs the suite. newHarness is called once per sub-test and must
// return a fresh harness (a new double).
func Run(t *testing.T, newHarness func(t *testing.T) *Harness) {
	t.Run("Channel", func(t *testing.T) { testChannel(t, newHarness(t)) })
	t.Run("Handshake", func(t *testing.T) { testHandshake(t, newHarness(t)) })
	t.Run("Signature", func(t *testing.T) { testSignature(t, newHarness(t)) })
	t.Run("Parse", func(t *testing.T) { testParse(t, newHarness(t)) })
	t.Run("ParseInvalid", func(t *testing.T) { testParseInvalid(t, newHarness(t)) })
	t.Run("ParseTruncated", func(t *testing.T) { testParseTruncated(t, newHarness(t)) })
	t.Run("SendText", func(t *testing.T) { testSendText(t, newHarness(t)) })
	t.Run("SendFaults", func(t *testing.T) { testSendFaults(t, newHarness(t)) })
	t.Run("SendWindow", func(t *testing.T) { testSendWindow(t, newHarness(t)) })
	t.Run("SendLongText", func(t *testing.T) { testSendLongText(t, newHarness(t)) })
	t.Run("SendUnrenderable", func(t *testing.T) { testSendUnrenderable(t, newHarness(t)) })
}

func testChannel(t *testing.T, h *Harness) {
	c := h.Adapter.Channel()
	if c == "" || c != strings.ToLower(strings.TrimSpace(c)) {
		t.Fatalf("Channel() = %q, want a non-empty lower-case name", c)
	}
	caps := h.Adapter.Capabilities()
	if !caps.Renders(dmflow.ReplyText) {
		t.Errorf("Capabilities do not include text replies")
	}
	if caps.MaxText <= 0 || (caps.MaxTextUnit != "bytes" && caps.MaxTextUnit != "characters") {
		t.Errorf("Capabilities: MaxText %d %q, want > 0 bytes or characters", caps.MaxText, caps.MaxTextUnit)
	}
	if len(h.Deliveries) == 0 {
		t.Errorf("the harness has no sample deliveries")
	}
}

func testHandshake(t *testing.T, h *Harness) {
	got, err := h.Adapter.Handshake(h.Handshake)
	if err != nil || got != h.Challenge {
		t.Fatalf("Handshake(valid) = %q, %v; want %q", got, err, h.Challenge)
	}
	bad := []url.Values{{}}
	for k := range h.Handshake {
		q := cloneValues(h.Handshake)
		if strings.Contains(k, "challenge") {
			continue
		}
		q.Set(k, q.Get(k)+"x")
		bad = append(bad, q)
		q = cloneValues(h.Handshake)
		q.Del(k)
		bad = append(bad, q)
	}
	for _, q := range bad {
		if c, err := h.Adapter.Handshake(q); !errors.Is(err, dmflow.ErrInvalid) {
			t.Errorf("Handshake(%v) = %q, %v; want an error wrapping ErrInvalid", q, c, err)
		}
	}
}

func cloneValues(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

func testSignature(t *testing.T, h *Harness) {
	body := h.Deliveries[0].Body
	hdr := h.Sign(body)
	if err := h.Adapter.Verify(body, hdr); err != nil {
		t.Fatalf("Verify(signed body) = %v", err)
	}
	if err := h.Adapter.Verify(body, http.Header{}); !errors.Is(err, dmflow.ErrUnsigned) || !errors.Is(err, dmflow.ErrInvalid) {
		t.Errorf("Verify(no signature) = %v, want ErrUnsigned (and ErrInvalid)", err)
	}
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)/2] ^= 0x01
	if err := h.Adapter.Verify(tampered, hdr); !errors.Is(err, dmflow.ErrInvalid) || errors.Is(err, dmflow.ErrUnsigned) {
		t.Errorf("Verify(tampered body) = %v, want ErrInvalid, not ErrUnsigned", err)
	}
	other := h.Sign(h.Deliveries[len(h.Deliveries)-1].Body)
	if len(h.Deliveries) > 1 && !equalBytes(h.Deliveries[0].Body, h.Deliveries[len(h.Deliveries)-1].Body) {
		if err := h.Adapter.Verify(body, other); !errors.Is(err, dmflow.ErrInvalid) {
			t.Errorf("Verify(signature of another body) = %v, want ErrInvalid", err)
		}
	}
}

func equalBytes(a, b []byte) bool { return string(a) == string(b) }

func testParse(t *testing.T, h *Harness) {
	channel := h.Adapter.Channel()
	for _, d := range h.Deliveries {
		t.Run(d.Name, func(t *testing.T) {
			evs, err := h.Adapter.Parse(d.Body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var kinds []dmflow.EventKind
			seen := map[string]bool{}
			for i, ev := range evs {
				kinds = append(kinds, ev.Kind)
				if ev.Channel != channel {
					t.Errorf("event %d: Channel %q, want %q", i, ev.Channel, channel)
				}
				if err := ev.Check(); err != nil {
					t.Errorf("event %d: %v", i, err)
				}
				if seen[ev.Key] {
					t.Errorf("event %d: duplicate Key %q within one delivery", i, ev.Key)
				}
				seen[ev.Key] = true
				if ev.Time.IsZero() {
					t.Errorf("event %d (%s): zero Time", i, ev.Kind)
				}
			}
			if !equalKinds(kinds, d.Kinds) {
				t.Errorf("kinds = %v, want %v", kinds, d.Kinds)
			}
			again, err := h.Adapter.Parse(d.Body)
			if err != nil || len(again) != len(evs) {
				t.Fatalf("second Parse: %d events, %v", len(again), err)
			}
			for i := range evs {
				if again[i].Key != evs[i].Key {
					t.Errorf("event %d: Key %q then %q: redelivery would not be deduplicated", i, evs[i].Key, again[i].Key)
				}
			}
		})
	}
}

func equalKinds(a, b []dmflow.EventKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testParseInvalid(t *testing.T, h *Harness) {
	for _, body := range []string{"", "not json", "[1,", `{"entry":`, "\x00\xff"} {
		evs, err := h.Adapter.Parse([]byte(body))
		if !errors.Is(err, dmflow.ErrInvalid) {
			t.Errorf("Parse(%q) = %d events, %v; want ErrInvalid", body, len(evs), err)
		}
	}
	for _, body := range []string{`{}`, `{"object":"something_else","entry":[{"id":"1","messaging":[{"x":1}]}]}`, `{"entry":[{"messaging":[{"unknown_kind":{}}]}]}`} {
		evs, err := h.Adapter.Parse([]byte(body))
		if err != nil || len(evs) != 0 {
			t.Errorf("Parse(%s) = %d events, %v; want none and no error", body, len(evs), err)
		}
	}
}

// testParseTruncated parses every prefix of every sample: never a panic,
// and any error wraps ErrInvalid.
func testParseTruncated(t *testing.T, h *Harness) {
	for _, d := range h.Deliveries {
		for n := 0; n < len(d.Body); n++ {
			evs, err := h.Adapter.Parse(d.Body[:n])
			if err != nil && !errors.Is(err, dmflow.ErrInvalid) {
				t.Fatalf("%s[:%d]: error %v does not wrap ErrInvalid", d.Name, n, err)
			}
			for _, ev := range evs {
				if ev.Channel != h.Adapter.Channel() {
					t.Fatalf("%s[:%d]: event with Channel %q", d.Name, n, ev.Channel)
				}
			}
		}
	}
}

func (h *Harness) out(r dmflow.Reply) dmflow.Outgoing {
	m := h.To
	m.Reply = r
	return m
}

func send(t *testing.T, h *Harness, m dmflow.Outgoing) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return h.Sender.Send(ctx, m)
}

func testSendText(t *testing.T, h *Harness) {
	before := len(h.Sent())
	id, err := send(t, h, h.out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "hello from adaptertest"}))
	if err != nil || id == "" {
		t.Fatalf("Send(text) = %q, %v; want a message id", id, err)
	}
	sent := h.Sent()
	if len(sent) != before+1 || sent[len(sent)-1] != "hello from adaptertest" {
		t.Fatalf("the double recorded %q after one text send", sent[before:])
	}
	qr := dmflow.Reply{Kind: dmflow.ReplyText, Text: "pick one",
		QuickReplies: []dmflow.QuickReply{{Title: "Yes", Payload: "YES"}, {Title: "No", Payload: "NO"}}}
	if _, err := send(t, h, h.out(qr)); err != nil {
		t.Fatalf("Send(text with quick replies) = %v", err)
	}
}

func testSendFaults(t *testing.T, h *Harness) {
	want := map[Fault]dmflow.ErrorClass{FaultThrottle: dmflow.ClassRetryable, FaultPermanent: dmflow.ClassPermanent,
		FaultAmbiguous: dmflow.ClassAmbiguous, FaultOutsideWindow: dmflow.ClassPermanent}
	for _, f := range []Fault{FaultThrottle, FaultPermanent, FaultAmbiguous, FaultOutsideWindow} {
		t.Run(faultNames[f], func(t *testing.T) {
			h.Inject(f)
			_, err := send(t, h, h.out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "fault " + faultNames[f]}))
			h.Clear()
			if err == nil {
				t.Fatalf("Send under fault %s succeeded", faultNames[f])
			}
			if got := dmflow.ClassOf(err); got != want[f] {
				t.Errorf("ClassOf(%v) = %s, want %s", err, got, want[f])
			}
			if f == FaultOutsideWindow && !errors.Is(err, dmflow.ErrOutsideWindow) {
				t.Errorf("error %v does not wrap ErrOutsideWindow", err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Send retried until the deadline: %v", err)
			}
			if _, err := send(t, h, h.out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "after " + faultNames[f]})); err != nil {
				t.Errorf("Send after Clear = %v", err)
			}
		})
	}
}

func testSendWindow(t *testing.T, h *Harness) {
	before := len(h.Sent())
	m := h.out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "too late"})
	m.LastInbound = time.Now().Add(-30 * 24 * time.Hour)
	_, err := send(t, h, m)
	if !errors.Is(err, dmflow.ErrOutsideWindow) || dmflow.ClassOf(err) != dmflow.ClassPermanent {
		t.Errorf("Send 30 days after the last message = %v, want ErrOutsideWindow", err)
	}
	m.LastInbound = time.Now().Add(-time.Hour)
	if _, err := send(t, h, m); err != nil {
		t.Errorf("Send an hour after the last message = %v", err)
	}
	if n := len(h.Sent()) - before; n != 1 {
		t.Errorf("the double recorded %d messages, want 1 (the refused one never sent)", n)
	}
}

func testSendLongText(t *testing.T, h *Harness) {
	caps := h.Adapter.Capabilities()
	long := strings.Repeat("é word ", caps.MaxText/3) // 2*MaxText+ bytes, > MaxText characters
	before := len(h.Sent())
	_, err := send(t, h, h.out(dmflow.Reply{Kind: dmflow.ReplyText, Text: long}))
	sent := h.Sent()[before:]
	if err != nil {
		if dmflow.ClassOf(err) != dmflow.ClassPermanent || len(sent) != 0 {
			t.Fatalf("Send(long text) = %v with %d messages sent; want split parts or a permanent refusal", err, len(sent))
		}
		return
	}
	if len(sent) < 2 {
		t.Fatalf("long text went out as %d message(s), want it split", len(sent))
	}
	for i, s := range sent {
		n := len(s)
		if caps.MaxTextUnit == "characters" {
			n = utf8.RuneCountInString(s)
		}
		if n > caps.MaxText {
			t.Errorf("part %d has %d %s, over the limit %d", i, n, caps.MaxTextUnit, caps.MaxText)
		}
	}
}

// allReplies are samples of every reply kind dmflow knows.
var allReplies = []dmflow.Reply{
	{Kind: dmflow.ReplyText, Text: "t"},
	{Kind: dmflow.ReplyMedia, Media: []dmflow.Media{{Type: "image", URL: "https://example.com/a.png"}}},
	{Kind: dmflow.ReplyLikeHeart},
	{Kind: dmflow.ReplyMediaShare, PostID: "1789"},
	{Kind: dmflow.ReplyGeneric, Elements: []dmflow.Element{{Title: "card", Buttons: []dmflow.Button{{Type: "postback", Title: "Go", Payload: "GO"}}}}},
	{Kind: dmflow.ReplyButtons, Text: "choose", Buttons: []dmflow.Button{{Type: "postback", Title: "A", Payload: "A"}}},
	{Kind: dmflow.ReplyAction, Action: dmflow.ActionTypingOn},
	{Kind: dmflow.ReplyReact, MID: "m_1", Reaction: "love"},
	{Kind: dmflow.ReplyCommentReply, Comment: "c1", Text: "thanks"},
	{Kind: dmflow.ReplyModerate, Comment: "c1", Action: dmflow.ModerateHide},
}

func testSendUnrenderable(t *testing.T, h *Harness) {
	caps := h.Adapter.Capabilities()
	for _, r := range allReplies {
		if caps.Renders(r.Kind) {
			continue
		}
		before := len(h.Sent())
		_, err := send(t, h, h.out(r))
		if err == nil || dmflow.ClassOf(err) != dmflow.ClassPermanent {
			t.Errorf("Send(%s), which the channel cannot render = %v; want a permanent error", r.Kind, err)
		}
		if n := len(h.Sent()) - before; n != 0 {
			t.Errorf("Send(%s) reached the platform (%d messages)", r.Kind, n)
		}
	}
}

// D is a Delivery named name: body must yield kinds, in order.
func D(name string, body []byte, kinds ...dmflow.EventKind) Delivery {
	return Delivery{Name: name, Body: body, Kinds: kinds}
}

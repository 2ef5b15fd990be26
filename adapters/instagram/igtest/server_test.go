package igtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func post(t *testing.T, base, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	dec.Decode(&out)
	return resp.StatusCode, out
}

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	if e == nil {
		return ""
	}
	return fmt.Sprintf("%v/%v", e["code"], e["error_subcode"])
}

// TestLimits checks the platform rules the double enforces on raw requests.
func TestLimits(t *testing.T) {
	long := strings.Repeat("é", 501) // 1002 bytes
	qr := func(n int) string {
		var items []string
		for i := range n {
			items = append(items, fmt.Sprintf(`{"content_type":"text","title":"t%d","payload":"p"}`, i))
		}
		return "[" + strings.Join(items, ",") + "]"
	}
	tests := []struct {
		name, body, code string
	}{
		{"text ok", `{"recipient":{"id":"u1"},"message":{"text":"hi"}}`, ""},
		{"1000 bytes ok", `{"recipient":{"id":"u1"},"message":{"text":"` + strings.Repeat("a", 1000) + `"}}`, ""},
		{"1002 bytes", `{"recipient":{"id":"u1"},"message":{"text":"` + long + `"}}`, "100/<nil>"},
		{"13 quick replies", `{"recipient":{"id":"u1"},"message":{"text":"x","quick_replies":` + qr(13) + `}}`, ""},
		{"14 quick replies", `{"recipient":{"id":"u1"},"message":{"text":"x","quick_replies":` + qr(14) + `}}`, "100/<nil>"},
		{"no recipient", `{"message":{"text":"x"}}`, "100/<nil>"},
		{"action with message", `{"recipient":{"id":"u1"},"sender_action":"typing_on","message":{"text":"x"}}`, "100/<nil>"},
		{"other tag", `{"recipient":{"id":"u1"},"messaging_type":"MESSAGE_TAG","tag":"ACCOUNT_UPDATE","message":{"text":"x"}}`, "100/<nil>"},
		{"4 buttons", `{"recipient":{"id":"u1"},"message":{"attachment":{"type":"template","payload":{"template_type":"button","text":"x","buttons":[` +
			strings.Repeat(`{"type":"postback","title":"a","payload":"b"},`, 3) + `{"type":"postback","title":"a","payload":"b"}]}}}}`, "100/<nil>"},
		{"outside window", `{"recipient":{"id":"old"},"message":{"text":"x"}}`, "10/2534022"},
		{"human agent", `{"recipient":{"id":"old"},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT","message":{"text":"x"}}`, ""},
		{"too old for human agent", `{"recipient":{"id":"ancient"},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT","message":{"text":"x"}}`, "10/2534022"},
		{"private reply", `{"recipient":{"comment_id":"c1"},"message":{"text":"x"}}`, ""},
		{"second private reply", `{"recipient":{"comment_id":"c1"},"message":{"text":"x"}}`, "10900/<nil>"},
		{"stale comment", `{"recipient":{"comment_id":"c-old"},"message":{"text":"x"}}`, "100/2534025"},
		{"wrong account", "", "100/33"},
	}
	srv := igtest.NewServer(igtest.Config{Now: func() time.Time { return now }})
	defer srv.Close()
	srv.SetUserMessagedAt("old", now.Add(-48*time.Hour))
	srv.SetUserMessagedAt("ancient", now.Add(-8*24*time.Hour))
	srv.AddComment("c1", "u9", now.Add(-time.Hour))
	srv.AddComment("c-old", "u9", now.Add(-8*24*time.Hour))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, body := "/v25.0/me/messages", tt.body
			if tt.name == "wrong account" {
				path, body = "/v25.0/999/messages", `{"recipient":{"id":"u1"},"message":{"text":"x"}}`
			}
			status, out := post(t, srv.URL, path, body)
			if got := errCode(out); got != tt.code {
				t.Errorf("status %d error %q, want %q (%v)", status, got, tt.code, out)
			}
			if tt.code == "" && (status != 200 || out["message_id"] == nil && !strings.Contains(body, "sender_action")) {
				t.Errorf("status %d answer %v", status, out)
			}
		})
	}
	if m := srv.Messages(); len(m) != 5 || m[4].RecipientID != "u9" {
		t.Errorf("recorded %d messages", len(m))
	}
}

func TestStrictWindowAndTokens(t *testing.T) {
	srv := igtest.NewServer(igtest.Config{StrictWindow: true, AccessTokens: map[string]string{"tok": "17841400000000001"}})
	defer srv.Close()
	if _, out := post(t, srv.URL, "/v25.0/me/messages", `{"recipient":{"id":"stranger"},"message":{"text":"x"}}`); errCode(out) != "10/2534022" {
		t.Errorf("strict window: %v", out)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/v25.0/me/messages", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	dec.Decode(&out)
	resp.Body.Close()
	if errCode(out) != "190/<nil>" {
		t.Errorf("bad token: %v", out)
	}
}

func TestWaitSubscribeAndEcho(t *testing.T) {
	echoes := make(chan []byte, 4)
	srv := igtest.NewServer(igtest.Config{
		Account: "17841400000000001", WebhookSecret: "whsec",
		OnEcho: func(body []byte, sig string) {
			if err := instagram.VerifySignature(body, http.Header{"X-Hub-Signature-256": {sig}}, "whsec"); err != nil {
				t.Errorf("echo signature: %v", err)
			}
			echoes <- body
		},
	})
	defer srv.Close()
	ch, cancel := srv.Subscribe(4)
	defer cancel()
	ctx, stop := context.WithTimeout(context.Background(), testutil.Scale(testutil.Wait))
	defer stop()
	go http.Post(srv.URL+"/v25.0/me/messages?access_token=tok", "application/json", strings.NewReader(`{"recipient":{"id":"u1"},"message":{"text":"hello"}}`))
	msgs, err := srv.WaitMessages(ctx, 1)
	if err != nil || msgs[0].Text() != "hello" {
		t.Fatalf("WaitMessages = %v, %v", msgs, err)
	}
	select {
	case m := <-ch:
		if m.ID != msgs[0].ID {
			t.Errorf("subscriber got %s, want %s", m.ID, msgs[0].ID)
		}
	case <-ctx.Done():
		t.Fatal("subscriber got nothing")
	}
	// The message's echo is delivered before its response is written, but
	// WaitMessages may return before that (the send is recorded first).
	var echo []byte
	select {
	case echo = <-echoes:
	case <-ctx.Done():
		t.Fatal("no echo of the message")
	}
	// A sender action has none: its echo would be delivered before post returns.
	post(t, srv.URL, "/v25.0/me/messages", `{"recipient":{"id":"u1"},"sender_action":"typing_on"}`)
	select {
	case extra := <-echoes:
		t.Fatalf("an echo for a sender action: %s", extra)
	default:
	}
	events, err := instagram.Parse(echo)
	if err != nil || len(events) != 1 || events[0].Kind != dmflow.KindEcho || events[0].MID != msgs[0].ID || events[0].User != "u1" {
		t.Errorf("echo parses to %+v, %v", events, err)
	}
	short, stopShort := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer stopShort()
	if _, err := srv.WaitMessages(short, 5); err == nil {
		t.Error("WaitMessages returned without enough messages")
	}
}

func TestFaults(t *testing.T) {
	srv := igtest.NewServer(igtest.Config{Seed: 7})
	defer srv.Close()
	body := `{"recipient":{"id":"u1"},"message":{"text":"x"}}`
	srv.Inject(igtest.Fault{Path: "/messages", Code: 2, Times: 2, Transient: true})
	var codes []string
	var armed []int
	for range 3 {
		armed = append(armed, srv.FaultsArmed())
		_, out := post(t, srv.URL, "/v25.0/me/messages", body)
		codes = append(codes, errCode(out))
	}
	if strings.Join(codes, ",") != "2/<nil>,2/<nil>," {
		t.Errorf("Times=2: %v", codes)
	}
	if !slices.Equal(armed, []int{1, 1, 0}) || srv.FaultsArmed() != 0 {
		t.Errorf("faults armed before each call: %v, after: %d (want [1 1 0], 0)", armed, srv.FaultsArmed())
	}
	srv.Inject(igtest.Fault{Path: "/messages", Status: 500, Fraction: 0.5, Times: -1})
	failed := 0
	for range 200 {
		if status, _ := post(t, srv.URL, "/v25.0/me/messages", body); status == 500 {
			failed++
		}
	}
	if failed < 60 || failed > 140 {
		t.Errorf("Fraction 0.5 failed %d of 200", failed)
	}
	srv.ClearFaults()
	// Recipient: only that user's sends take the fault, and the handler
	// still reads the body it peeked.
	srv.Inject(igtest.Fault{Path: "/messages", Recipient: "u2", Status: 500})
	if status, _ := post(t, srv.URL, "/v25.0/me/messages", body); status != 200 {
		t.Errorf("u1's send took u2's fault: %d", status)
	}
	if status, _ := post(t, srv.URL, "/v25.0/me/messages", `{"recipient":{"id":"u2"},"message":{"text":"x"}}`); status != 500 {
		t.Errorf("u2's send: %d, want the fault's 500", status)
	}
	if status, _ := post(t, srv.URL, "/v25.0/me/messages", `{"recipient":{"id":"u2"},"message":{"text":"x"}}`); status != 200 {
		t.Errorf("u2's second send: %d, want 200 (Times 1)", status)
	}
	srv.Inject(igtest.Fault{Drop: true})
	req, _ := http.NewRequest("POST", srv.URL+"/v25.0/me/messages", strings.NewReader(body))
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Error("dropped connection returned a response")
	}
	srv.Inject(igtest.Fault{Latency: 20 * time.Millisecond})
	start := time.Now()
	if status, _ := post(t, srv.URL, "/v25.0/me/messages", body); status != 200 || time.Since(start) < 20*time.Millisecond {
		t.Errorf("latency fault: status %d after %s", status, time.Since(start))
	}
}

// TestMountedOnMux serves the double under a prefix of an existing mux.
func TestMountedOnMux(t *testing.T) {
	g := igtest.New(igtest.Config{Account: "17841400000000001"})
	mux := http.NewServeMux()
	mux.Handle("/graph/", http.StripPrefix("/graph", g))
	app := httptest.NewServer(mux)
	defer app.Close()
	c := instagram.NewClient(instagram.ClientConfig{BaseURL: app.URL + "/graph", Tokens: instagram.StaticToken("t")})
	id, err := c.Send(context.Background(), dmflow.Outgoing{
		Key: dmflow.SessionKey{Account: "17841400000000001", User: "u1"}, To: dmflow.Recipient{ID: "u1"},
		Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: "mounted"},
	})
	if err != nil || len(g.Messages()) != 1 || g.Messages()[0].ID != id {
		t.Errorf("send through mounted double: %v", err)
	}
}

func TestVersionChecked(t *testing.T) {
	srv := igtest.NewServer(igtest.Config{Version: "v25.0"})
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/v21.0/me?fields=user_id", nil)
	req.Header.Set("Authorization", "Bearer x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !bytes.Contains(b, []byte("2635")) {
		t.Errorf("old version: %d %s", resp.StatusCode, b)
	}
}

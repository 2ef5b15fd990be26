package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
)

// TestServer runs the program's server on 127.0.0.1 against the Graph API
// double and has a conversation through signed webhooks: the Go action
// answers, the reply reaches the double, and the server stops cleanly.
func TestServer(t *testing.T) {
	const account, user, secret = "17841400000000001", "u1", "app-secret"
	double := igtest.NewServer(igtest.Config{Account: account})
	t.Cleanup(double.Close)
	double.SetUserMessagedAt(user, time.Now())
	env := map[string]string{
		"DMFLOW_DB": filepath.Join(t.TempDir(), "dmflow.db"), "DMFLOW_GRAPH_URL": double.URL,
		"INSTAGRAM_ACCESS_TOKEN": "token", "META_APP_SECRET": secret, "INSTAGRAM_VERIFY_TOKEN": "verify",
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, func(k string) string { return env[k] }) }()
	base := "http://" + ln.Addr().String()

	wait, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	wh := igtest.Webhook{Secret: secret}
	say := func(mid, text string, n int) string {
		t.Helper()
		code, err := wh.Post(wait, nil, base+"/webhook/instagram", wh.Text(account, user, mid, text))
		if err != nil || code != http.StatusOK {
			t.Fatalf("webhook %q: %d %v", text, code, err)
		}
		msgs, err := double.WaitMessages(wait, n)
		if err != nil {
			t.Fatalf("waiting for reply %d to %q: %v (got %d)", n, text, err, len(double.Messages()))
		}
		return msgs[n-1].Text()
	}
	if got := say("m1", "hi", 1); got != "Which item?" {
		t.Fatalf("first reply %q", got)
	}
	if got := say("m2", "Mug", 2); got != "12 × Mug in stock." {
		t.Fatalf("after the Go action: %q", got)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	stop()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// TestDocs: docs/integrations.md shows run as it is here.
func TestDocs(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/integrations.md")
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(src, []byte("func run("))
	end := bytes.Index(src[start:], []byte("\n}\n"))
	if start < 0 || end < 0 {
		t.Fatal("no func run in main.go")
	}
	if fn := src[start : start+end+3]; !bytes.Contains(doc, fn) {
		t.Errorf("docs/integrations.md does not show run as main.go has it:\n%s", fn)
	}
}

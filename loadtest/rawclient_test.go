package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
)

// TestRawClient checks the lean client against net/http's server: a
// fixed-length body, a flushed (chunked) body, Connection: close and a
// refusal, each followed by another request on the same client.
func TestRawClient(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Hub-Signature-256") != "sha256=x" || r.ContentLength != 4 {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		switch n.Add(1) % 4 {
		case 0:
			w.Write([]byte("ok"))
		case 1:
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			w.Write([]byte(strings.Repeat("x", 10000)))
		case 2:
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		case 3:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	rc := newRawClient([]string{srv.URL + "/webhook/instagram"})
	defer rc.close()
	req := rawRequest(srv.URL+"/webhook/instagram", []byte("{}{}"), "sha256=x")
	want := []int{200, 200, 503, 200, 200, 200, 503, 200}
	for i, w := range want {
		got, err := rc.do(context.Background(), 0, req)
		if err != nil || got != w {
			t.Fatalf("request %d: status %d, %v; want %d", i, got, err, w)
		}
	}
}

// TestLeanLoadAgainstCeiling runs a small Lean load against the ceiling
// handler and checks that every event was acknowledged and answered once.
func TestLeanLoadAgainstCeiling(t *testing.T) {
	g, err := StartGraph()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	srv := httptest.NewServer(NewCeiling(CeilingConfig{Secret: "s", GraphURL: g.URL, Token: "t"}))
	defer srv.Close()
	l, err := NewLoad(Options{URL: srv.URL + "/webhook/instagram", Secret: "s", Users: 10, Events: 50, Batch: 2, Concurrency: 3, Lean: true})
	if err != nil {
		t.Fatal(err)
	}
	l.Prepare()
	l.Send(context.Background())
	if !l.WaitReplies(g.Recorder, time.Minute) {
		t.Fatalf("not every event answered")
	}
	r := l.Result("ceiling", g.Recorder)
	if r.Acked != 50 || r.Answered != 50 || r.Duplicates != 0 {
		t.Fatalf("acked %d answered %d dup %d, want 50 50 0", r.Acked, r.Answered, r.Duplicates)
	}
}

// BenchmarkPost compares the generator's cost per POST: the lean client
// with a prepared request against net/http's client building and signing
// each body (as Load does without Lean). The server is a bare 200 handler
// in the same process, the same for both.
func BenchmarkPost(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	target := srv.URL + "/webhook/instagram"
	l, err := NewLoad(Options{URL: target, Secret: "s", Users: 1, Events: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("lean", func(b *testing.B) {
		rc := newRawClient([]string{target})
		defer rc.close()
		body := l.body([]int{0}, 0)
		req := rawRequest(target, body, igtest.Webhook{Secret: "s"}.Sign(body))
		b.ReportAllocs()
		for b.Loop() {
			if st, err := rc.do(context.Background(), 0, req); err != nil || st != 200 {
				b.Fatal(st, err)
			}
		}
	})
	b.Run("net-http", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			body := l.body([]int{0}, 0)
			if st, err := l.do(context.Background(), body, igtest.Webhook{Secret: "s"}.Sign(body)); err != nil || st != 200 {
				b.Fatal(st, err)
			}
		}
	})
}

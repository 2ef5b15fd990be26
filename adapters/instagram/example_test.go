package instagram_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
)

func ExampleParse() {
	body, _ := os.ReadFile("testdata/quick_reply.json")
	events, err := instagram.Parse(body)
	if err != nil {
		panic(err)
	}
	for _, e := range events {
		fmt.Println(e.Kind, e.Key, e.Text, e.Payload)
	}
	// Output: message m:mid.qr Pro PLAN_PRO
}

func ExampleNewWebhook() {
	wh := instagram.NewWebhook(instagram.WebhookConfig{VerifyToken: "verify-me", AppSecrets: []string{"app-secret"}},
		func(_ context.Context, events []dmflow.Event) error {
			fmt.Println("stored", len(events), "event:", events[0].Kind, events[0].Text)
			return nil // only once durable
		})
	signer := igtest.Webhook{Secret: "app-secret"}
	body := signer.Text("17841400000000001", "6543210987654321", "mid.1", "hello")
	w := httptest.NewRecorder()
	wh.ServeHTTP(w, signer.Request(context.Background(), "/webhook/instagram", body))
	fmt.Println(w.Code)
	// Output:
	// stored 1 event: message hello
	// 200
}

func ExampleClient_Send() {
	graph := igtest.NewServer(igtest.Config{})
	defer graph.Close()
	client := instagram.NewClient(instagram.ClientConfig{BaseURL: graph.URL, Tokens: instagram.StaticToken("IGAA...")})
	_, err := client.Send(context.Background(), dmflow.Outgoing{
		Key: dmflow.SessionKey{Account: igtest.DefaultAccount, User: "6543210987654321"},
		To:  dmflow.Recipient{ID: "6543210987654321"},
		Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: "Which plan?", QuickReplies: []dmflow.QuickReply{
			{Title: "Pro", Payload: "PLAN_PRO"}, {Title: "Free", Payload: "PLAN_FREE"},
		}},
	})
	fmt.Println(err, graph.Messages()[0].Text(), len(graph.Messages()[0].Message.QuickReplies))
	// Output: <nil> Which plan? 2
}

func BenchmarkParse(b *testing.B) {
	w := igtest.Webhook{}
	var bodies [][]byte
	for i := range 100 {
		bodies = append(bodies, w.Text(acct, fmt.Sprint("user", i%10), fmt.Sprint("mid.", i), "hello there"))
	}
	body := igtest.Merge(bodies...)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := instagram.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	w := igtest.Webhook{Secret: igSecret}
	body := w.Text(acct, user, "mid.1", "hello")
	req := w.Request(context.Background(), "/", body)
	v := instagram.Verifier{Secrets: []string{igSecret, metaSecret}}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := v.Verify(body, req.Header); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSend(b *testing.B) {
	graph := igtest.NewServer(igtest.Config{})
	defer graph.Close()
	client := instagram.NewClient(instagram.ClientConfig{BaseURL: graph.URL, Tokens: instagram.StaticToken("t"),
		RateLimits: instagram.RateLimits{Text: -1}})
	m := out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"})
	m.LastInbound = time.Time{} // unknown: the window is left to the double, which does not know the user
	for b.Loop() {
		if _, err := client.Send(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
}

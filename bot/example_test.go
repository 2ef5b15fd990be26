package bot_test

import (
	"context"
	"fmt"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/store/mem"
)

// The flow engine is a bot.Engine.
var _ bot.Engine = (*engine.Engine)(nil)

// printSender prints each reply and reports it on a channel.
type printSender chan string

func (p printSender) Send(_ context.Context, m dmflow.Outgoing) (string, error) {
	fmt.Printf("to %s: %s\n", m.To.ID, m.Reply.Text)
	p <- m.Reply.Text
	return "mid.1", nil
}

func ExampleBot() {
	sent := make(printSender, 1)
	b, err := bot.New(bot.Config{Store: mem.New(nil), Sender: sent, Engine: &fakeEngine{}, Logger: quiet})
	if err != nil {
		panic(err)
	}
	go func() { _ = b.Run(context.Background()) }()
	// What the Instagram webhook handler does before answering 200:
	_ = b.Ingest(context.Background(), []dmflow.Event{{Key: "m:1", Kind: dmflow.KindMessage,
		Account: "17841400000", User: "6101", Time: time.Now(), Text: "hello"}})
	<-sent
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.Shutdown(ctx)
	// Output: to 6101: re: hello
}

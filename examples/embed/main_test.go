package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	in := strings.NewReader("hi\nAnn\nnewsletter\nnope\nann@example.com\n")
	if err := run(context.Background(), in, &out); err != nil {
		t.Fatal(err)
	}
	want := `bot: Hi! I'm the shop bot. What's your name?
bot: Nice to meet you, Ann. What do you need?   [Pricing] [Newsletter]
bot: Your e-mail address?
bot: That does not look like an e-mail address.
bot: Subscribed ann@example.com. Thanks, Ann!
bot: Anything else? Say anything to start over.
`
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

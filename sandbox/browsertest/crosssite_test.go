package browsertest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestOtherPagesCannotDriveTheStudio: a page of another origin (another
// port of 127.0.0.1, as any web page the developer opens could be) posts to
// the studio the way a browser allows without asking the studio (a no-cors
// text/plain fetch, which carries no preflight): the real Chromium's
// request is refused and nothing reaches the bot. The studio's own page
// works, as the other browser tests show.
func TestOtherPagesCannotDriveTheStudio(t *testing.T) {
	env := startStudio(t)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>evil</title><script>
fetch(%s, {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"},
  body: JSON.stringify({user: "victim", kind: "text", text: "pwned"})})
  .then(() => { document.title = "sent"; }, (e) => { document.title = "failed " + e; });
</script>`, strconv.Quote(env.URL+"api/send"))
	}))
	defer evil.Close()
	p := newPage(t, 800, 600)
	p.do("open the other page", chromedp.Navigate(evil.URL))
	p.wait("the cross-site request to finish", `document.title !== "evil"`)
	if msgs := env.Sandbox.Messages("victim", 0); len(msgs) != 0 {
		t.Fatalf("a cross-site request reached the bot: %+v", msgs)
	}
	// The same request from the studio's own page goes through.
	p.do("open the studio", chromedp.Navigate(env.URL))
	p.wait("the studio's own post", `fetch("api/send", {method: "POST", headers: {"Content-Type": "application/json"},
		body: JSON.stringify({user: "self", kind: "text", text: "hi"})}).then((r) => r.status === 200)`)
	if msgs := env.Sandbox.Messages("self", 0); len(msgs) == 0 {
		t.Fatal("the studio's own request did not reach the bot")
	}
}

package browsertest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/server"
)

// switchChannel picks channel in the header's channel switch and waits for
// the page to come back on it.
func (p *page) switchChannel(channel string) {
	p.t.Helper()
	eval[bool](p, `(() => { const s = document.getElementById("channel-select");
		s.value = `+"`"+channel+"`"+`; s.dispatchEvent(new Event("change")); return true })()`)
	cond := `document.body.dataset.channel === "` + channel + `" && !!document.querySelector("#chat-ann .composer .text")`
	deadline := time.Now().Add(testutil.Scale(time.Minute))
	for {
		// The switch reloads the page, which ends a poll begun before it.
		_, err := chromedp.Run(p.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(testutil.Scale(time.Minute))))
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "(-32000)") || time.Now().After(deadline) { // navigated, or the context is gone
			p.t.Fatalf("wait for the page on %s: %v\nconsole:\n%s", channel, err, p.consoleText())
		}
	}
}

// TestChannelSwitch: the same person on Instagram and on Messenger holds
// two conversations; the Messenger side shows the Page, hides the
// Instagram-only simulations, and the Instagram conversation is still there
// after switching back.
func TestChannelSwitch(t *testing.T) {
	env := startStudio(t)
	p := newPage(t, 1280, 900)
	ann := chat{p, "ann"}
	p.do("open the studio", chromedp.Navigate(env.URL+"?user=ann"), chromedp.WaitVisible(ann.sel(".composer .text")))
	p.wait("the channel switch", `!document.getElementById("channel-select").hidden`)

	ann.say("hi")
	ann.botSaid("What's your name?")
	ann.say("Ann")
	ann.botSaid("What's your email?")
	p.inState("contact", "ask_email")

	p.switchChannel("messenger")
	if got := eval[string](p, `document.getElementById("account").textContent`); got != "Page "+server.SandboxPage {
		t.Errorf("header on messenger: %q", got)
	}
	if n := eval[int](p, `document.querySelectorAll("#chat-ann .row.bot").length`); n != 0 {
		t.Fatalf("ann on Messenger starts a conversation of her own, found %d bot rows", n)
	}
	if vis := eval[bool](p, `getComputedStyle(document.querySelector('#chat-ann form.sim[data-kind="story_mention"]')).display !== "none"`); vis {
		t.Error("story mentions are offered on Messenger")
	}
	ann.say("hi")
	ann.botSaid("What's your name?")
	p.inState("lead-capture", "greet")

	p.switchChannel("instagram")
	ann.botSaid("What's your email?") // the Instagram conversation, where it was
	p.inState("contact", "ask_email")
	p.noErrors()
}

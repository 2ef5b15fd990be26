package browsertest_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestUndeliveredMarker (issue 13, item 1): a reply the bot makes more than
// 24 h after the user's last message (the studio clock advanced with its
// buttons) is shown in the thread marked "not delivered" with the reason,
// and never as a delivered bot message; once handed off, the operator's
// message from the controls is delivered (tagged HUMAN_AGENT).
func TestUndeliveredMarker(t *testing.T) {
	env := startStudio(t)
	p := newPage(t, 1280, 900)
	ann := chat{p, "ann"}
	p.do("open the studio", chromedp.Navigate(env.URL+"?user=ann"), chromedp.WaitVisible(ann.sel(".composer .text")))
	p.wait("the graph", `!!document.querySelector("#graph svg g.node")`)

	ann.say("hi")
	ann.botSaid("What's your name?")
	p.inState("lead-capture", "greet")

	p.do("advance the clock a day", chromedp.Click(chromedp.CSS(`[data-advance="24h"]`)))
	p.wait("the clock at +24h", `document.getElementById("clock-offset").textContent.includes("24h")`)
	p.do("advance the clock an hour", chromedp.Click(chromedp.CSS(`[data-advance="1h"]`)))
	p.wait("the clock at +25h", `document.getElementById("clock-offset").textContent.includes("25h")`)

	p.wait("menu among the jump targets", `[...document.getElementById("jump-state").options].some((o) => o.value === "menu")`)
	p.do("jump to menu", chromedp.SetValue(chromedp.CSS("#jump-state"), "menu"), chromedp.Click(chromedp.CSS("#jump")))
	p.inState("lead-capture", "menu")
	p.wait("the menu marked not delivered", `[...document.querySelectorAll("#chat-ann .row.bot.undelivered")].some((r) =>
		r.textContent.includes("not delivered") && r.textContent.includes("24-hour window") &&
		r.querySelector(".bubble").textContent.includes("What would you like to do next"))`)
	if n := eval[int](p, `[...document.querySelectorAll("#chat-ann .row.bot:not(.undelivered)")].filter((r) =>
		r.textContent.includes("What would you like to do next")).length`); n != 0 {
		t.Fatalf("the refused menu is shown as delivered %d times", n)
	}

	// A person may still answer the handed-off conversation (HUMAN_AGENT).
	p.do("hand off", chromedp.Click(chromedp.CSS("#handoff")))
	p.wait("the handoff", `document.getElementById("handoff").getAttribute("aria-pressed") === "true"`)
	p.do("send as operator", chromedp.SendKeys(chromedp.CSS("#operator-text"), "Anna from sales here"),
		chromedp.Click(chromedp.CSS("#operator-send")))
	ann.botSaid("Anna from sales here")
	p.screenshot("undelivered.png")
	p.noErrors()
}

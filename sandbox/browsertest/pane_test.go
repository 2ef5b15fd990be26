package browsertest_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestSlowSwitchNeverHidesANewerStep: switching users reads the user's
// stored session; when that read is slow and the user's next step streams
// in meanwhile, the flow pane ends on the step, not on the older read.
// (CI once failed TestGrowthEvents and TestPhoneWidthKeyboardAndSeveralUsers
// this way on a loaded machine: the pane said "no conversation yet" after
// the second user's first step.) The test holds the read's answer in the
// page until the step has streamed in, then logs every state the pane
// shows.
func TestSlowSwitchNeverHidesANewerStep(t *testing.T) {
	env := startStudio(t)
	p := newPage(t, 1280, 900)
	ann, bob := chat{p, "ann"}, chat{p, "bob"}
	p.do("open the studio", chromedp.Navigate(env.URL+"?user=ann&user=bob"), chromedp.WaitVisible(ann.sel(".composer .text")))
	ann.say("hi")
	ann.botSaid("What's your name?")
	ann.say("Ann")
	ann.botSaid("email")
	p.inState("contact", "ask_email")

	eval[bool](p, `(() => {
		window.held = [];
		const fetch0 = window.fetch;
		window.fetch = (url, opts) => {
			const r = fetch0(url, opts); // sent now, answered when the test says
			return String(url).includes("api/session") ? new Promise((ok) => window.held.push(() => ok(r))) : r;
		};
		window.shown = [];
		new MutationObserver(() => window.shown.push(document.getElementById("where").dataset.state))
			.observe(document.getElementById("where"), { attributes: true, attributeFilter: ["data-state"] });
		return true;
	})()`)
	p.do("select bob", chromedp.Click(chromedp.CSS("#tab-bob")))
	p.wait("bob's session read", `window.held.length > 0`)
	bob.say("hi")
	bob.botSaid("What's your name?")
	p.wait("bob's step on the stream", `document.querySelector("#chat-bob .state").textContent.includes("greet")`)
	eval[bool](p, `(window.held.forEach((release) => release()), true)`)
	p.wait("the read and the step shown", `window.shown.includes("") && window.shown.includes("greet")`)
	p.inState("lead-capture", "greet")
	if got := eval[[]string](p, `window.shown`); got[len(got)-1] != "greet" {
		t.Fatalf("the pane showed %q in that order: the older read landed last", got)
	}
	p.noErrors()
}

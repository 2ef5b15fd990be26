package browsertest_test

import (
	"os"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/dmflow/dmflow/sandbox/internal/harness"
)

// TestGrowthEvents (issue 18) drives examples/comment-to-dm from the
// page's "Simulate other events": a comment on the launch reel (its id
// typed into the comment form) gets the public reply under the comment and
// the private reply in the thread, and an ig.me link with the launch ref
// lands in the ad welcome (`entry:`).
func TestGrowthEvents(t *testing.T) {
	env := harness.Start(t, harness.LoadFS(os.DirFS("../../examples"), "comment-to-dm"))
	p := newPage(t, 1280, 900)
	ann, bob := chat{p, "ann"}, chat{p, "bob"}
	p.do("open the studio", chromedp.Navigate(env.URL+"?user=ann&user=bob"), chromedp.WaitVisible(ann.sel(".composer .text")))

	p.do("open ann's simulated events", chromedp.Click(ann.sel(".more summary")))
	p.do("comment PRICE on the launch reel",
		chromedp.SetValue(ann.sel(`form[data-kind="comment"] input[name="text"]`), "PRICE please"),
		chromedp.SetValue(ann.sel(`form[data-kind="comment"] input[name="media"]`), "17990000000000001"),
		chromedp.Click(ann.sel(`form[data-kind="comment"] button`)))
	ann.botSaid("Sent you a DM")
	ann.botSaid("Here is the price list")
	p.wait("the public-reply and private-reply labels", `(() => {
		const labels = [...document.querySelectorAll("#chat-ann .row.bot .label")].map((l) => l.textContent);
		return labels.some((l) => l.includes("public reply")) && labels.some((l) => l.includes("private reply"));
	})()`)
	p.wait("the comment's post in ann's thread", `document.querySelector("#chat-ann").textContent.includes("post 17990000000000001")`)

	p.do("select bob", chromedp.Click(chromedp.CSS("#tab-bob")))
	p.do("open bob's simulated events", chromedp.Click(bob.sel(".more summary")))
	p.do("open the ig.me link", chromedp.Click(bob.sel(`form[data-kind="referral"] button`)))
	bob.botSaid("You came from our launch ad")
	p.inState("comment-to-dm", "offer")
	p.noErrors()
}

package browsertest_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestPhoneWidthKeyboardAndSeveralUsers checks a phone-width screen (no
// sideways scrolling, the active chat and the flow pane stacked), keyboard
// use (a quick-reply chip focused and pressed with Enter), a second
// simulated user whose thread stays separate, and a comment answered by a
// private reply in the commenter's thread.
func TestPhoneWidthKeyboardAndSeveralUsers(t *testing.T) {
	env := startStudio(t)
	p := newPage(t, 390, 844)
	bea, cy := chat{p, "bea"}, chat{p, "cy"}
	p.do("open the studio", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(env.URL+"?user=bea&user=cy"), chromedp.WaitVisible(bea.sel(".composer .text")))
	if w := eval[int](p, `window.innerWidth`); w != 390 {
		t.Fatalf("viewport is %d px wide, want 390", w)
	}
	if w := eval[bool](p, `document.documentElement.scrollWidth <= window.innerWidth`); !w {
		t.Fatal("the page scrolls sideways at 390 px")
	}
	if eval[bool](p, `getComputedStyle(document.getElementById("chat-cy")).display !== "none"`) {
		t.Fatal("on a phone only the selected user's chat is shown")
	}

	bea.say("hi")
	bea.botSaid("What's your name?")
	bea.say("Bea")
	bea.say("bea@example.com")
	bea.say("90")
	bea.botSaid("What would you like to do next, Bea?")
	p.do("focus the first chip and press Enter",
		chromedp.Focus(bea.sel(".chips button")), chromedp.KeyEvent(kb.Enter))
	bea.botSaid("Pro is the popular choice")
	p.inState("lead-capture", "pricing")

	p.do("switch to cy with the keyboard", chromedp.Focus(chromedp.CSS("#tab-bea")), chromedp.KeyEvent(kb.ArrowRight))
	p.wait("cy's chat", `getComputedStyle(document.getElementById("chat-cy")).display !== "none" &&
		document.activeElement.id === "tab-cy"`)
	p.do("open the simulated events", chromedp.Click(cy.sel(".more summary")))
	p.do("comment on a post", chromedp.Click(cy.sel(`form[data-kind="comment"] button`)))
	cy.botSaid("Thanks for your comment!")
	p.wait("the private-reply label", `document.querySelector("#chat-cy .row.bot .label").textContent.includes("private reply")`)
	p.inState("lead-capture", "comment_reply")
	if eval[bool](p, `document.querySelector("#chat-bea").textContent.includes("Thanks for your comment")`) {
		t.Fatal("cy's private reply leaked into bea's thread")
	}
	unlabelled := eval[int](p, `[...document.querySelectorAll("input, select")].filter((e) =>
		!e.labels?.length && !e.getAttribute("aria-label")).length`)
	if unlabelled != 0 {
		t.Fatalf("%d form fields have no label", unlabelled)
	}
	p.screenshot("studio-phone.png")
	p.noErrors()
}

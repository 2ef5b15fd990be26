package browsertest_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/dmflow/dmflow/examples"
	"github.com/dmflow/dmflow/sandbox/internal/harness"
)

// chat is one simulated user's thread in the page.
type chat struct {
	p    *page
	user string
}

func (c chat) sel(css string) chromedp.CSS { return chromedp.CSS("#chat-" + c.user + " " + css) }

// say types text into the composer and sends it with Enter.
func (c chat) say(text string) {
	c.p.t.Helper()
	c.p.do("type "+text, chromedp.SendKeys(c.sel(".composer .text"), text+"\r"))
}

// tap clicks the button (chip, template or card button) whose text has label.
func (c chat) tap(label string) {
	c.p.t.Helper()
	xp := fmt.Sprintf(`//*[@id="chat-%s"]//button[contains(., %s)]`, c.user, strconv.Quote(label))
	c.p.do("tap "+label, chromedp.Click(xp))
}

// botSaid waits until a bot row of the thread contains text.
func (c chat) botSaid(text string) {
	c.p.t.Helper()
	c.p.wait("the bot to say "+text, fmt.Sprintf(
		`[...document.querySelectorAll("#chat-%s .row.bot")].some((r) => r.textContent.includes(%s))`, c.user, strconv.Quote(text)))
}

// inState waits until the flow pane says the session is in flow/state and
// the graph highlights that state.
func (p *page) inState(flow, state string) {
	p.t.Helper()
	p.wait("state "+flow+"/"+state, fmt.Sprintf(`document.getElementById("where").dataset.state === %q &&
		document.getElementById("graph").dataset.flow === %q &&
		!!document.querySelector('#graph g.node.current[id*="-state-%s-"]')`, state, flow, state))
}

func startStudio(t *testing.T) *harness.Env {
	return harness.Start(t, harness.LoadFS(examples.FS(), examples.LeadCaptureDir))
}

// TestConversation holds a whole lead-capture conversation in the page:
// text, the email quick reply, a timer fired from the controls, a quick
// reply chip and a carousel button, checking the highlighted state at each
// step, and saves the screenshot.
func TestConversation(t *testing.T) {
	start := time.Now()
	env := startStudio(t)
	p := newPage(t, 1440, 960)
	ann := chat{p, "ann"}
	p.do("open the studio", chromedp.Navigate(env.URL+"?user=ann"), chromedp.WaitVisible(ann.sel(".composer .text")))
	p.wait("the graph", `!!document.querySelector("#graph svg g.node")`)

	ann.say("hi")
	ann.botSaid("What's your name?")
	p.inState("lead-capture", "greet")

	ann.say("Ann")
	ann.botSaid("What's your email?")
	p.inState("contact", "ask_email")
	ann.tap("ann@example.com") // the user_email quick reply
	ann.botSaid("monthly budget")
	p.inState("lead-capture", "budget")

	ann.say("150")
	ann.botSaid("What would you like to do next, Ann?")
	p.inState("lead-capture", "menu")
	p.wait("the menu timer", `document.getElementById("timers").textContent.includes("menu")`)

	p.do("fire the timer", chromedp.Click(chromedp.CSS("#next-timer")))
	ann.botSaid("Still thinking it over, Ann?")
	p.inState("lead-capture", "followup")
	p.wait("the timeout edge marked", `document.getElementById("last-step").textContent.includes("menu → followup") &&
		!!document.querySelector("#graph path.taken")`)

	ann.tap("See plans")
	ann.botSaid("Pro is the popular choice")
	p.inState("lead-capture", "pricing")
	if n := eval[int](p, `document.querySelectorAll("#chat-ann .cards .card").length`); n != 3 {
		t.Fatalf("carousel has %d cards, want 3", n)
	}
	ann.tap("Choose Pro")
	ann.botSaid("the next steps for the pro plan")
	p.inState("lead-capture", "done")
	p.wait("the trace of the last step", `document.querySelector("#steps details[open]").textContent.includes("PLAN_PRO")`)

	if *updateScreenshot {
		copyFile(t, p.screenshot("studio.png"), "../../docs/studio.png")
	} else {
		p.screenshot("studio.png")
	}
	p.noErrors()
	t.Logf("conversation took %s", time.Since(start).Round(time.Millisecond))
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	if err == nil {
		err = os.WriteFile(to, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

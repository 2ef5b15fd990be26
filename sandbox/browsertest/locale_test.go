package browsertest_test

import (
	"os"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/dmflow/dmflow/sandbox/internal/harness"
)

// TestLocaleControl (issue 19, locales): with examples/faq the flow pane
// shows a locale control; choosing es and Set makes the bot's next answer
// Spanish, and the session shows locale es.
func TestLocaleControl(t *testing.T) {
	env := harness.Start(t, harness.LoadFS(os.DirFS("../../examples"), "faq"))
	p := newPage(t, 1280, 900)
	ann := chat{p, "ann"}
	p.do("open the studio", chromedp.Navigate(env.URL+"?user=ann"), chromedp.WaitVisible(ann.sel(".composer .text")))
	ann.say("hi")
	ann.botSaid("Ask me about opening hours")
	p.wait("the locale control", `!document.getElementById("locale-ctl").hidden &&
		[...document.getElementById("locale-select").options].map((o) => o.value).join() === "en,es"`)
	p.do("choose es", chromedp.SetValue(chromedp.CSS("#locale-select"), "es"), chromedp.Click(chromedp.CSS("#locale-set")))
	p.wait("the notice", `document.getElementById("notice").textContent.includes("Locale es queued")`)
	ann.say("horario")
	ann.botSaid("lunes a viernes")
	p.wait("the session's locale", `[...document.querySelectorAll("#session-facts dt")].some((dt) =>
		dt.textContent === "locale" && dt.nextElementSibling.textContent === "es")`)
	p.noErrors()
}

package engine_test

import (
	"testing"

	"github.com/dmflow/dmflow"
)

// A failed call's status, outcome and error reach `save`, so the state the
// outcome leads to can tell a 404 from a 500, a timeout or bad JSON.
func TestSaveSeesEveryOutcome(t *testing.T) {
	e := load(t, `
flow: r
start: ask
vars: {order: string, status: string, code: int, outcome: string, why: string}
states:
  ask:
    ask: {var: order}
    next: lookup
  lookup:
    action:
      http: {url: "https://api.example.com/orders/{{ order }}"}
      save:
        outcome: response.outcome
        code: response.status
        why: response.error
        status: 'string(response.body.status ?? "")'
      next: show
      on_error: failed
      on_timeout: failed
  show: {say: [{text: "{{ outcome }} {{ code }} {{ status }}"}], end: true}
  failed:
    say:
      - {text: "not found", when: 'code == 404'}
      - {text: "server {{ code }}: {{ status }}", when: 'outcome == "error" && code != 404'}
      - {text: "timeout ({{ why }})", when: 'outcome == "timeout"'}
      - {text: "bad answer", when: 'outcome == "invalid"'}
    end: true
`)
	cases := []struct {
		name   string
		result dmflow.ActionResult
		want   []string
	}{
		{"ok", dmflow.ActionResult{Outcome: "ok", Status: 200, Body: []byte(`{"status":"shipped"}`)}, []string{"ok 200 shipped"}},
		{"404", dmflow.ActionResult{Outcome: "error", Status: 404, Body: []byte(`{"error":"no such order"}`)}, []string{"not found"}},
		{"500 with a JSON body", dmflow.ActionResult{Outcome: "error", Status: 500, Body: []byte(`{"status":"db down"}`)}, []string{"server 500: db down"}},
		{"502 with an HTML body", dmflow.ActionResult{Outcome: "error", Status: 502, Body: []byte(`<html>`)}, []string{"server 502: "}},
		{"timeout", dmflow.ActionResult{Outcome: "timeout", Error: "timed out"}, []string{"timeout (timed out)"}},
		{"invalid", dmflow.ActionResult{Outcome: "invalid", Status: 200, Error: "response is not JSON"}, []string{"bad answer"}},
		{"ok but not JSON", dmflow.ActionResult{Outcome: "ok", Status: 200, Body: []byte(`nope`)}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newConv(t, e)
			c.say("hi")
			c.say("A1")
			r := tc.result
			r.ID = c.s.Pending.ID
			got := texts(c.step(dmflow.Event{Kind: dmflow.KindActionResult, Action: &r}))
			if len(tc.want) == 0 {
				// ok with a body that is not JSON: save stops, the outcome
				// becomes invalid and takes on_error; code was never saved.
				c.state("failed")
				eq(t, "replies", len(got), 0)
				return
			}
			eq(t, "replies", got, tc.want)
		})
	}
}

// What the user types cannot become a ${SECRET} reference in the request
// the runner resolves; the flow's own literal references stay.
func TestRequestValuesCannotNameSecrets(t *testing.T) {
	e := load(t, `
flow: s
start: ask
vars: {order: string}
states:
  ask:
    ask: {var: order}
    next: lookup
  lookup:
    action:
      http:
        url: "${ORDERS_API}/orders/{{ order }}?key=${API_KEY}"
        headers: {Authorization: "Bearer ${TOKEN}", X-Order: "{{ order }}"}
      next: done
  done: {end: true}
`)
	c := newConv(t, e)
	c.say("hi")
	c.say("${TOKEN}")
	r := c.last.Actions[0].HTTP
	eq(t, "url", r.URL, "${ORDERS_API}/orders/%24{TOKEN}?key=${API_KEY}")
	eq(t, "headers", r.Headers, map[string]string{"Authorization": "Bearer ${TOKEN}", "X-Order": ""})
	if !hasTrace(c.last, "error", "would reference a secret") {
		t.Errorf("not traced:%s", traceText(c.last))
	}
}

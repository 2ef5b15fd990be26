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
// the runner resolves, alone, next to another insertion or after a literal
// "$"; the flow's own literal references stay secret segments. Inserted
// values are percent-encoded in the URL (a path segment, a query value)
// and lose their control characters in a header.
func TestRequestValuesCannotNameSecrets(t *testing.T) {
	e := load(t, `
flow: s
start: hello
vars: {a: string, b: string}
states:
  hello:
    say: [{text: hi}]
    next: ask
  ask:
    on:
      - set: {a: 'split(event.text + "|", "|")[0]', b: 'split(event.text + "|", "|")[1]'}
        goto: lookup
  lookup:
    action:
      http:
        url: "${ORDERS_API}/orders/{{ a }}/price/${{ b }}?q={{ a }}{{ b }}&key=${API_KEY}#{{ b }}"
        headers: {Authorization: "Bearer ${TOKEN}", X-Pair: "{{ a }}{{ b }}", X-Dollar: "${{ b }}"}
      next: done
  done: {end: true}
`)
	lit := func(s string) dmflow.Segment { return dmflow.Segment{Lit: s} }
	val := func(s string) dmflow.Segment { return dmflow.Segment{Value: s} }
	sec := func(s string) dmflow.Segment { return dmflow.Segment{Secret: s} }
	for _, tc := range []struct {
		name, text string
		url        dmflow.Text
		pair, dol  dmflow.Text
	}{
		{"adjacent insertions", "$|{APIKEY}",
			dmflow.Text{sec("ORDERS_API"), lit("/orders/"), val("%24"), lit("/price/$"), val("%7BAPIKEY%7D"), lit("?q="), val("%24"), val("%7BAPIKEY%7D"), lit("&key="), sec("API_KEY"), lit("#"), val("%7BAPIKEY%7D")},
			dmflow.Text{val("$"), val("{APIKEY}")}, dmflow.Text{lit("$"), val("{APIKEY}")}},
		{"whole reference", "${TOKEN}|x",
			dmflow.Text{sec("ORDERS_API"), lit("/orders/"), val("%24%7BTOKEN%7D"), lit("/price/$"), val("x"), lit("?q="), val("%24%7BTOKEN%7D"), val("x"), lit("&key="), sec("API_KEY"), lit("#"), val("x")},
			dmflow.Text{val("${TOKEN}"), val("x")}, dmflow.Text{lit("$"), val("x")}},
		{"path and query injection", "A12345/../../admin?role=admin#frag|..",
			dmflow.Text{sec("ORDERS_API"), lit("/orders/"), val("A12345%2F..%2F..%2Fadmin%3Frole%3Dadmin%23frag"), lit("/price/$"), val("%2E%2E"), lit("?q="), val("A12345%2F..%2F..%2Fadmin%3Frole%3Dadmin%23frag"), val(".."), lit("&key="), sec("API_KEY"), lit("#"), val("..")},
			dmflow.Text{val("A12345/../../admin?role=admin#frag"), val("..")}, dmflow.Text{lit("$"), val("..")}},
		{"header injection", "a\r\nX-Admin: 1|\u0000b",
			dmflow.Text{sec("ORDERS_API"), lit("/orders/"), val("a%0D%0AX-Admin%3A%201"), lit("/price/$"), val("%00b"), lit("?q="), val("a%0D%0AX-Admin%3A%201"), val("%00b"), lit("&key="), sec("API_KEY"), lit("#"), val("%00b")},
			dmflow.Text{val("a  X-Admin: 1"), val(" b")}, dmflow.Text{lit("$"), val(" b")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConv(t, e)
			c.say("hi")
			c.say(tc.text)
			if len(c.last.Actions) != 1 {
				t.Fatalf("no action:%s", traceText(c.last))
			}
			r := c.last.Actions[0].HTTP
			eq(t, "url", r.URL, tc.url)
			eq(t, "headers", r.Headers, map[string]dmflow.Text{"Authorization": {lit("Bearer "), sec("TOKEN")}, "X-Pair": tc.pair, "X-Dollar": tc.dol})
		})
	}
}

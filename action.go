package dmflow

import (
	"encoding/json"
	"strings"
	"time"
)

// ActionCall is a call to the business's own systems that a flow asked for:
// an HTTP request declared in YAML or a Go action registered by an embedder.
// The engine only emits it; the bot records it durably, runs it outside the
// per-user transaction, and feeds the outcome back as a KindActionResult event.
type ActionCall struct {
	ID   string         `json:"id"`   // unique; also the idempotency key sent to HTTP endpoints
	Name string         `json:"name"` // action name (the state's call name)
	Kind string         `json:"kind"` // "http" or "go"
	Key  SessionKey     `json:"key"`
	Args map[string]any `json:"args,omitempty"`
	// HTTP is the rendered request for Kind "http".
	HTTP    *HTTPRequest  `json:"http,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
	Retries int           `json:"retries,omitempty"`
	Created time.Time     `json:"created,omitzero"`
}

// HTTPRequest is a rendered HTTP action request. The URL and the header
// values are kept as segments, so that the request remembers which text the
// flow wrote and which an expression inserted: the runner resolves only the
// secret references written in the flow's literal text, and the record
// never holds a resolved secret.
type HTTPRequest struct {
	Method  string          `json:"method"`
	URL     Text            `json:"url"`
	Headers map[string]Text `json:"headers,omitempty"`
	Body    json.RawMessage `json:"body,omitempty"`
}

// Text is a rendered request text (an HTTP action's URL or a header value)
// as segments.
type Text []Segment

// Segment is one piece of a rendered request text; at most one field is
// set.
type Segment struct {
	// Lit is literal text of the flow file.
	Lit string `json:"lit,omitempty"`
	// Secret names a ${NAME} reference written in the flow's literal text;
	// the runner resolves it from configuration when the call runs.
	Secret string `json:"secret,omitempty"`
	// Value is a value an expression inserted, already encoded for its
	// place (percent-encoded in the URL); it is sent as it is and never
	// resolved, whatever it holds.
	Value string `json:"value,omitempty"`
}

// String shows the text as sent, with ${NAME} in place of each secret:
// for traces, transcripts and logs.
func (t Text) String() string {
	var b strings.Builder
	for _, s := range t {
		if s.Secret != "" {
			b.WriteString("${" + s.Secret + "}")
			continue
		}
		b.WriteString(s.Lit)
		b.WriteString(s.Value)
	}
	return b.String()
}

// UnmarshalJSON reads segments, or a plain string as one literal segment
// (action records written before segments existed: their ${NAME} text is
// not resolved any more, so such a call fails instead of guessing).
func (t *Text) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text{{Lit: s}}
		return nil
	}
	var segs []Segment
	if err := json.Unmarshal(b, &segs); err != nil {
		return err
	}
	*t = segs
	return nil
}

// ActionResult is the outcome of an ActionCall.
type ActionResult struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Outcome is "ok", "error" (non-2xx status or a Go error), "timeout" or
	// "invalid" (response too large or not JSON).
	Outcome string          `json:"outcome"`
	Status  int             `json:"status,omitempty"`
	Body    json.RawMessage `json:"body,omitempty"`
	Error   string          `json:"error,omitempty"`
}

// Action outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeError   = "error"
	OutcomeTimeout = "timeout"
	OutcomeInvalid = "invalid"
)

// Notice is a normalized event streamed to the business's systems through
// outgoing webhooks: message received, reply sent/failed, state entered,
// handoff started/ended, variable captured.
type Notice struct {
	Type  string         `json:"type"`
	Key   SessionKey     `json:"key"`
	Time  time.Time      `json:"time"`
	Cause string         `json:"cause,omitempty"` // Event.Key
	Data  map[string]any `json:"data,omitempty"`
}

// Notice types.
const (
	NoticeMessageReceived = "message.received"
	NoticeReplySent       = "reply.sent"
	NoticeReplyFailed     = "reply.failed"
	NoticeStateEntered    = "state.entered"
	NoticeHandoffStarted  = "handoff.started"
	NoticeHandoffEnded    = "handoff.ended"
	NoticeVarCaptured     = "variable.captured"
	// NoticeExperimentAssigned: a flow's split assigned the user a variant
	// of an A/B experiment for the first time (data: experiment, variant,
	// flow, state).
	NoticeExperimentAssigned = "experiment.assigned"
)

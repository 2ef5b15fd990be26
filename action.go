package dmflow

import (
	"encoding/json"
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

// HTTPRequest is a rendered HTTP action request. The URL and header values may reference
// secrets as "${NAME}"; they are resolved from configuration when the call
// runs and never stored resolved.
type HTTPRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
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
)

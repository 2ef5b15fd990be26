package dmflow

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Adapter is the inbound half of a messaging channel (Instagram, Messenger,
// ...): what the webhook endpoint needs to accept a platform's deliveries.
// The outbound half is a Sender. Package adapters/adaptertest is the
// conformance suite both halves pass; bot, engine and flows never import an
// adapter, so a channel is added without touching them.
//
// Contract (checked by adaptertest):
//   - Channel is the Event.Channel of every event Parse returns, and is
//     the same for every call.
//   - Handshake answers a subscription check (the query of a GET): the
//     challenge to echo when the mode and token match, else an error
//     wrapping ErrInvalid. An empty configured token never matches.
//   - Verify checks the signature of a delivery over its raw bytes, before
//     anything parses them: nil, or an error wrapping ErrInvalid (and
//     ErrUnsigned when the request carries no signature at all).
//   - Parse turns a verified body into events that pass Event.Check, each
//     with a deduplication Key that is the same whenever the platform
//     delivers the same thing again, and distinct for distinct things in
//     one delivery. A body that is not JSON fails with ErrInvalid; unknown
//     event kinds and fields are skipped, never an error; Parse never
//     panics.
//
// Implementations are safe for concurrent use.
type Adapter interface {
	Channel() string
	Handshake(query url.Values) (challenge string, err error)
	Verify(body []byte, h http.Header) error
	Parse(body []byte) ([]Event, error)
	// Capabilities tells what the channel's Send API renders, for static
	// checks of flows (`dmflow validate`) and for the conformance suite.
	Capabilities() Capabilities
}

// Capabilities are the static limits of a channel's Send API.
type Capabilities struct {
	// Replies are the reply kinds the channel can deliver.
	Replies []ReplyKind
	// MaxText is the longest text of one message, in MaxTextUnit units;
	// longer text is split by the sender.
	MaxText int
	// MaxTextUnit is "bytes" (UTF-8) or "characters" (runes).
	MaxTextUnit string
	// MaxQuickReplies, MaxButtons and MaxElements bound one message.
	MaxQuickReplies, MaxButtons, MaxElements int
	// Tags are the message tags the channel accepts outside the 24-hour
	// window (HUMAN_AGENT, ...).
	Tags []string
}

// Renders reports whether the channel can deliver replies of kind k.
func (c Capabilities) Renders(k ReplyKind) bool {
	for _, r := range c.Replies {
		if r == k {
			return true
		}
	}
	return false
}

// ErrUnsigned reports a webhook delivery without any signature header; a
// webhook answers it 401 where a wrong signature is 403. It wraps
// ErrInvalid.
var ErrUnsigned = fmt.Errorf("missing webhook signature: %w", ErrInvalid)

// ErrorClass is how a failed Send is handled. Every Sender's errors fall in
// exactly one class, told by the sentinels they wrap (ClassOf); adapters'
// typed errors (instagram.APIError, messenger.APIError) also carry it.
type ErrorClass int

// Error classes.
const (
	// ClassRetryable failures (throttling, temporary errors, 5xx, lost
	// connections) may succeed later; the outbox retries them with backoff,
	// honouring RetryAfterer.
	ClassRetryable ErrorClass = iota
	// ClassPermanent failures (outside the window, unknown user, bad token,
	// missing permission, invalid request) never succeed as they are: the
	// reply is dead-lettered. Such errors wrap ErrPermanent or
	// ErrOutsideWindow.
	ClassPermanent
	// ClassAmbiguous failures may have delivered the message: never retried
	// blindly. Such errors wrap ErrAmbiguous.
	ClassAmbiguous
)

func (c ErrorClass) String() string {
	switch c {
	case ClassRetryable:
		return "retryable"
	case ClassPermanent:
		return "permanent"
	case ClassAmbiguous:
		return "ambiguous"
	}
	return "ErrorClass(" + strconv.Itoa(int(c)) + ")"
}

// ClassOf classifies a non-nil Send error by the sentinels it wraps:
// ErrAmbiguous first (a message that may be delivered must not be retried
// even if the cause is also permanent), then ErrPermanent,
// ErrOutsideWindow or ErrInvalid, else retryable. The bot's outbox decides
// by the same sentinels.
func ClassOf(err error) ErrorClass {
	switch {
	case errors.Is(err, ErrAmbiguous):
		return ClassAmbiguous
	case errors.Is(err, ErrPermanent), errors.Is(err, ErrOutsideWindow), errors.Is(err, ErrInvalid):
		return ClassPermanent
	}
	return ClassRetryable
}

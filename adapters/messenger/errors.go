package messenger

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/dmflow/dmflow"
)

// Graph error codes and subcodes the Messenger Send API returns that this
// package branches on (sources in the package doc).
const (
	CodeUnknown      = 1
	CodeService      = 2
	CodeAppLimit     = 4
	CodePermission   = 10
	CodeUserLimit    = 17
	CodePageLimit    = 32
	CodeInvalidParam = 100
	CodeToken        = 190
	CodePolicyBlock  = 368
	CodeUnavailable  = 551 // "This person isn't available right now"
	CodeRateLimit    = 613
	CodeBUCLimit     = 80006 // Messenger business use case rate limit

	SubcodeDeliveryUnknown = 1357046 // with code 1: the message may have been delivered
	SubcodeMissingAccess   = 99      // with code 1: missing permission or Advanced Access
	SubcodeOutsideWindow   = 2018278 // with code 10: outside the allowed window
	SubcodeNoUser          = 2018001 // with code 100: no matching user found
)

// ErrAuth marks a rejected Page access token (Graph error 190).
var ErrAuth = errors.New("messenger: page access token rejected")

// APIError is a failed Send API call. It wraps dmflow.ErrPermanent,
// dmflow.ErrAmbiguous, dmflow.ErrOutsideWindow and ErrAuth as its Class
// dictates; retryable errors implement dmflow.RetryAfterer.
type APIError struct {
	Status    int               // HTTP status; 0 for transport failures
	Code      int               `json:"code"`
	Subcode   int               `json:"error_subcode"`
	Type      string            `json:"type"`
	Message   string            `json:"message"`
	Transient bool              `json:"is_transient"`
	FBTraceID string            `json:"fbtrace_id"`
	Class     dmflow.ErrorClass `json:"-"`
	Wait      time.Duration     `json:"-"` // requested back-off (Retry-After), 0 when unknown
	Err       error             `json:"-"` // transport error
}

func (e *APIError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("messenger: send: %s: %v", e.Class, e.Err)
	}
	return fmt.Sprintf("messenger: send: HTTP %d code %d/%d (%s, fbtrace_id %s): %s",
		e.Status, e.Code, e.Subcode, e.Class, e.FBTraceID, e.Message)
}

// Unwrap exposes the sentinels of the class and the transport error.
func (e *APIError) Unwrap() []error {
	var out []error
	switch e.Class {
	case dmflow.ClassPermanent:
		out = append(out, dmflow.ErrPermanent)
	case dmflow.ClassAmbiguous:
		out = append(out, dmflow.ErrAmbiguous)
	}
	if e.Code == CodePermission && e.Subcode == SubcodeOutsideWindow {
		out = append(out, dmflow.ErrOutsideWindow)
	}
	if e.Code == CodeToken {
		out = append(out, ErrAuth)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// RetryAfter implements dmflow.RetryAfterer.
func (e *APIError) RetryAfter() time.Duration { return e.Wait }

// Classify maps an HTTP status and a Graph error to a class, never by
// message text (Meta localizes it).
func Classify(status, code, subcode int, transient bool) dmflow.ErrorClass {
	switch code {
	case CodeUnknown:
		switch subcode {
		case SubcodeDeliveryUnknown:
			return dmflow.ClassAmbiguous
		case SubcodeMissingAccess:
			return dmflow.ClassPermanent
		}
		return dmflow.ClassRetryable
	case CodeService, CodeAppLimit, CodeUserLimit, CodePageLimit, CodeRateLimit, CodeBUCLimit:
		return dmflow.ClassRetryable
	case 0:
		if status == http.StatusTooManyRequests || status >= 500 {
			return dmflow.ClassRetryable
		}
		return dmflow.ClassPermanent
	}
	if transient || status == http.StatusTooManyRequests {
		return dmflow.ClassRetryable
	}
	return dmflow.ClassPermanent
}

// throttled reports the "too many calls" codes, which get a default wait.
func throttled(code int) bool {
	switch code {
	case CodeAppLimit, CodeUserLimit, CodePageLimit, CodeRateLimit, CodeBUCLimit:
		return true
	}
	return false
}

func decodeError(status int, h http.Header, body []byte) *APIError {
	var env struct {
		Error *APIError `json:"error"`
	}
	e := &APIError{}
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		e = env.Error
	}
	if e.Message == "" && e.Code == 0 {
		e.Message = http.StatusText(status)
	}
	e.Status = status
	e.Class = Classify(status, e.Code, e.Subcode, e.Transient)
	if secs, err := strconv.Atoi(h.Get("Retry-After")); err == nil && secs > 0 {
		e.Wait = time.Duration(secs) * time.Second
	} else if throttled(e.Code) {
		e.Wait = DefaultThrottleWait
	}
	return e
}

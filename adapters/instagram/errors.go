package instagram

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dmflow/dmflow"
)

// Class is how a failed Graph call is handled: the channel-independent
// dmflow.ErrorClass.
type Class = dmflow.ErrorClass

// Error classes (see dmflow.ErrorClass).
const (
	// Retryable failures (throttling, temporary errors, 5xx, connection
	// resets, EOF and timeouts) may succeed later. A send retried after its
	// request was written (APIError.Written) may be delivered twice.
	Retryable = dmflow.ClassRetryable
	// Permanent failures (outside the window, unknown user, bad token,
	// missing permission, invalid request) never succeed as they are.
	Permanent = dmflow.ClassPermanent
	// Ambiguous failures may have delivered the message and say so
	// (1/1357046, a 200 with an unreadable answer, a reply split into
	// several requests failing after the first): never retried blindly.
	Ambiguous = dmflow.ClassAmbiguous
)

// Graph error codes and subcodes this package branches on.
const (
	CodeUnknown          = 1
	CodeService          = 2
	CodeAppLimit         = 4
	CodePermission       = 10
	CodeUserLimit        = 17
	CodePageLimit        = 32
	CodeInvalidParam     = 100
	CodeToken            = 190
	CodeAppLimitReached  = 341
	CodePolicyBlock      = 368
	CodeUnavailable      = 551
	CodeRateLimit        = 613
	CodeIGBusinessLimit  = 80002
	CodeMsgrBusinessLimt = 80006

	SubcodeDeliveryUnknown = 1357046 // with code 1: the message may have been delivered
	SubcodeMissingAccess   = 99      // with code 1: missing permission or Advanced Access
	SubcodeOutsideWindow   = 2534022 // with code 10
	SubcodeOutsideWindowFB = 2018278 // with code 10 (Messenger)
	SubcodeNoUser          = 2534014 // with code 100
)

// ErrAuth marks a rejected access token (Graph error 190): the account must
// be authorized again.
var ErrAuth = errors.New("instagram: access token rejected")

// APIError is a failed Graph API call. It wraps dmflow.ErrPermanent,
// dmflow.ErrAmbiguous, dmflow.ErrOutsideWindow and ErrAuth as its class
// dictates, so callers use errors.Is; retryable errors implement
// dmflow.RetryAfterer.
type APIError struct {
	Method, Path string // the call (path without query)
	Status       int    // HTTP status; 0 for transport failures
	Code         int    `json:"code"`
	Subcode      int    `json:"error_subcode"`
	Type         string `json:"type"`
	Message      string `json:"message"`
	UserTitle    string `json:"error_user_title"`
	UserMsg      string `json:"error_user_msg"`
	Transient    bool   `json:"is_transient"`
	FBTraceID    string `json:"fbtrace_id"`
	Class        Class  `json:"-"`
	// Wait is how long the platform asked us to back off (from usage
	// headers or Retry-After); 0 when unknown.
	Wait time.Duration `json:"-"`
	// Err is the transport error, if the call got no answer.
	Err error `json:"-"`
	// Written is set for a transport error after a send's request was
	// written: Meta may have processed it, and a retry may duplicate it.
	Written bool `json:"-"`
}

func (e *APIError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("instagram: %s %s: %s: %v", e.Method, e.Path, e.Class, e.Err)
	}
	return fmt.Sprintf("instagram: %s %s: HTTP %d code %d/%d (%s, fbtrace_id %s): %s",
		e.Method, e.Path, e.Status, e.Code, e.Subcode, e.Class, e.FBTraceID, e.Message)
}

// Unwrap exposes the sentinels matching the class and the transport error.
func (e *APIError) Unwrap() []error {
	var out []error
	switch e.Class {
	case Permanent:
		out = append(out, dmflow.ErrPermanent)
	case Ambiguous:
		out = append(out, dmflow.ErrAmbiguous)
	}
	if e.OutsideWindow() {
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

// OutsideWindow reports the platform's "outside of allowed window" error.
func (e *APIError) OutsideWindow() bool {
	return e.Code == CodePermission && (e.Subcode == SubcodeOutsideWindow || e.Subcode == SubcodeOutsideWindowFB)
}

// Classify maps an HTTP status and Graph error code/subcode to a Class.
// It never looks at message text, which Meta localizes.
func Classify(status, code, subcode int, transient bool) Class {
	switch code {
	case CodeUnknown:
		switch subcode {
		case SubcodeDeliveryUnknown:
			return Ambiguous
		case SubcodeMissingAccess:
			return Permanent
		}
		return Retryable
	case CodeService, CodeAppLimit, CodeUserLimit, CodePageLimit, CodeAppLimitReached,
		CodeRateLimit, CodeIGBusinessLimit, CodeMsgrBusinessLimt:
		return Retryable
	case 0:
		// No Graph error body: decide by status.
		if status == http.StatusTooManyRequests || status >= 500 {
			return Retryable
		}
		return Permanent
	}
	if transient || status == http.StatusTooManyRequests {
		return Retryable
	}
	if status >= 500 && code != CodeToken && code != CodeInvalidParam {
		return Retryable
	}
	return Permanent
}

// throttled reports codes that mean "too many calls" (wait before retrying).
func throttled(code int) bool {
	switch code {
	case CodeAppLimit, CodeUserLimit, CodePageLimit, CodeAppLimitReached, CodeRateLimit,
		CodeIGBusinessLimit, CodeMsgrBusinessLimt:
		return true
	}
	return false
}

// decodeError builds the APIError of a non-2xx response.
func decodeError(method, path string, status int, body []byte) *APIError {
	var env struct {
		Error *APIError `json:"error"`
		// api.instagram.com (OAuth) flat shape.
		ErrorType    string      `json:"error_type"`
		Code         json.Number `json:"code"`
		ErrorMessage string      `json:"error_message"`
	}
	e := &APIError{}
	if json.Unmarshal(body, &env) == nil {
		switch {
		case env.Error != nil:
			e = env.Error
		case env.ErrorType != "" || env.ErrorMessage != "":
			code, _ := env.Code.Int64()
			e.Type, e.Message, e.Code = env.ErrorType, env.ErrorMessage, int(code)
		}
	}
	if e.Message == "" && e.Code == 0 {
		e.Message = http.StatusText(status)
	}
	e.Method, e.Path, e.Status = method, path, status
	e.Class = Classify(status, e.Code, e.Subcode, e.Transient)
	return e
}

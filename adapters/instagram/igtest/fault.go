package igtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// Fault makes matching requests fail. Injected faults are consulted in
// order; the first that matches a request and still has calls left applies.
type Fault struct {
	// Path selects requests whose path contains it ("" = every request),
	// e.g. "/messages", "/refresh_access_token".
	Path string
	// Times is how many matching calls fail (0 = 1; negative = every call).
	Times int
	// Fraction, when > 0, makes each matching call fail with this
	// probability instead (Times still bounds the total when positive).
	Fraction float64
	// Recipient, when set, selects only sends (and other JSON bodies)
	// whose recipient.id is this user, so that a fault meant for one
	// user's message is not taken by another request to the same path
	// (e.g. a late retry of an earlier case's message).
	Recipient string

	// Status is the HTTP status (default 400 when Code is set, else 500).
	Status int
	// Code, Subcode, Type, Message and Transient fill the Graph error body.
	// With Code 0 and a 5xx Status the body is a plain-text 5xx page.
	Code, Subcode int
	Type, Message string
	Transient     bool
	// Header adds response headers, e.g. X-Business-Use-Case-Usage.
	Header http.Header
	// Latency delays the answer (the request's context still cancels it).
	Latency time.Duration
	// Drop closes the connection without an answer.
	Drop bool
	// Deliver processes the request normally (a send is recorded) before
	// answering with the fault: a message delivered despite an error.
	Deliver bool
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	if f.Times == 0 && f.Fraction == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes all injected faults.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// FaultsArmed returns how many injected faults still have calls to fail
// (a fault with Times > 0 is removed once used up; fractional faults
// without a bound stay armed until ClearFaults). Tests wait for 0 to know
// a fault was hit before they clear the rest.
func (s *Server) FaultsArmed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// takeFault returns the fault that applies to r, consuming one of its calls.
func (s *Server) takeFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	recipient, read := "", false
	for i, f := range s.faults {
		if !strings.Contains(r.URL.Path, f.Path) {
			continue
		}
		if f.Recipient != "" {
			if !read {
				recipient, read = requestRecipient(r), true
			}
			if recipient != f.Recipient {
				continue
			}
		}
		if f.Fraction > 0 && s.rng.Float64() >= f.Fraction {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		c := *f
		return &c
	}
	return nil
}

// applyFault answers r with a matching fault and reports whether it did.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request) bool {
	f := s.takeFault(r)
	if f == nil {
		return false
	}
	if f.Latency > 0 {
		// Read the body first: only then does the server notice a client
		// that hangs up (and cancel r's context), so a long latency ends
		// with the client instead of holding Close.
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		t := time.NewTimer(f.Latency)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return true
		case <-t.C:
		}
	}
	if !f.Drop && f.Code == 0 && f.Status == 0 {
		return false // latency only: answer normally
	}
	if f.Deliver {
		s.route(httptest.NewRecorder(), r)
	}
	if f.Drop {
		drop(w)
		return true
	}
	writeFault(w, f)
	return true
}

func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

func writeFault(w http.ResponseWriter, f *Fault) {
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	status := f.Status
	if status == 0 {
		status = 500
		if f.Code != 0 {
			status = 400
		}
	}
	if f.Code == 0 {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		w.Write([]byte("<html><body>Sorry, something went wrong.</body></html>"))
		return
	}
	msg := f.Message
	if msg == "" {
		msg = "(#" + http.StatusText(status) + ") injected fault"
	}
	writeError(w, status, apiErr{Code: f.Code, Subcode: f.Subcode, Type: f.Type, Message: msg, Transient: f.Transient})
}

// requestRecipient returns the recipient.id of r's JSON body ("" if none),
// leaving the body readable for the handler.
func requestRecipient(r *http.Request) string {
	if r.Body == nil {
		return ""
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	var v struct {
		Recipient struct {
			ID string `json:"id"`
		} `json:"recipient"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return v.Recipient.ID
}

package flows

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one positioned diagnostic about a flow file. Warnings do not stop a
// flow from loading (the CLI fails on them only with --strict).
type Error struct {
	Pos     Pos
	Msg     string
	Warning bool
	// Undeliverable marks a warning about a message the platform never
	// delivers (sent outside the messaging window, with no opt-in or tag
	// that allows it). The flow still loads — the sender refuses such a
	// message and dead-letters it — but `dmflow validate` rejects the
	// bundle, with or without --strict.
	Undeliverable bool
}

// Error renders "file:line:col: message", or "file:line:col: warning: message".
func (e *Error) Error() string {
	if e.Warning {
		return e.Pos.String() + ": warning: " + e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// ErrorList is a list of diagnostics. The loaders return it (as error) sorted
// by position, with every hard error and every warning found.
type ErrorList []*Error

// Error renders one diagnostic per line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the diagnostics, so errors.As(err, &e) with e *Error finds
// the first one.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Len, Less and Swap implement sort.Interface: by file, line, column, then
// errors before warnings, then message.
func (l ErrorList) Len() int      { return len(l) }
func (l ErrorList) Swap(i, j int) { l[i], l[j] = l[j], l[i] }
func (l ErrorList) Less(i, j int) bool {
	a, b := l[i], l[j]
	switch {
	case a.Pos.File != b.Pos.File:
		return a.Pos.File < b.Pos.File
	case a.Pos.Line != b.Pos.Line:
		return a.Pos.Line < b.Pos.Line
	case a.Pos.Col != b.Pos.Col:
		return a.Pos.Col < b.Pos.Col
	case a.Warning != b.Warning:
		return !a.Warning
	}
	return a.Msg < b.Msg
}

// Sort sorts the list in place and drops exact duplicates.
func (l *ErrorList) Sort() {
	sort.Stable(*l)
	out := (*l)[:0]
	for i, e := range *l {
		if i > 0 && *e == *(*l)[i-1] {
			continue
		}
		out = append(out, e)
	}
	*l = out
}

// Err returns nil when the list holds no hard error (only warnings, or
// nothing); otherwise it returns the whole list, warnings included.
func (l ErrorList) Err() error {
	for _, e := range l {
		if !e.Warning {
			return l
		}
	}
	return nil
}

// Warnings returns the warnings of the list.
func (l ErrorList) Warnings() ErrorList { return l.filter(true) }

// Errors returns the hard errors of the list.
func (l ErrorList) Errors() ErrorList { return l.filter(false) }

func (l ErrorList) filter(warning bool) ErrorList {
	var out ErrorList
	for _, e := range l {
		if e.Warning == warning {
			out = append(out, e)
		}
	}
	return out
}

// errs collects diagnostics while a file or bundle is checked.
type errs struct{ list ErrorList }

func (e *errs) errorf(pos Pos, format string, args ...any) {
	e.list = append(e.list, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (e *errs) warnf(pos Pos, format string, args ...any) {
	e.list = append(e.list, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Warning: true})
}

// undeliverablef records a warning about a message that is never
// delivered (Error.Undeliverable).
func (e *errs) undeliverablef(pos Pos, format string, args ...any) {
	e.list = append(e.list, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Warning: true, Undeliverable: true})
}

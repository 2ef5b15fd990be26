package cli

import (
	"context"
	"fmt"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/flowtest"
)

// Chat action modes (--actions).
const (
	actionsManual = "manual" // calls wait for /result
	actionsReal   = "real"   // HTTP calls are made, secrets from DMFLOW_SECRET_NAME
)

// actionAnswerer answers chat's action calls: a mock by the call's name
// first, then (--actions real) an HTTP call for real; anything else stays
// pending for /result. Each answer is noted for the status lines.
type actionAnswerer struct {
	mocks map[string]*flowtest.Mock
	real  *actions.Runner // nil: manual
	notes []string
}

func newActionAnswerer(o chatOptions, env func(string) (string, bool)) *actionAnswerer {
	a := &actionAnswerer{mocks: o.Mocks}
	if o.Actions == actionsReal {
		a.real = &actions.Runner{Go: o.Go, HTTP: &actions.HTTP{LookupEnv: func(name string) (string, bool) {
			if env == nil {
				return "", false
			}
			return env(envSecretPrefix + name)
		}}}
	}
	return a
}

func (a *actionAnswerer) answer(ctx context.Context, call dmflow.ActionCall) (*flowtest.Mock, bool, error) {
	if m := a.mocks[call.Name]; m != nil {
		a.notef("-- action %s: %s → mocked %s", call.Name, flowtest.CallSummary(call), m.Outcome)
		return m, true, nil
	}
	if a.real == nil || !(call.Kind == "http" || call.Kind == "go" && a.real.Go != nil) {
		return nil, false, nil
	}
	res := a.real.Run(ctx, call)
	a.notef("-- action %s: %s → %s", call.Name, flowtest.CallSummary(call), resultSummary(res))
	m, err := flowtest.MockOf(res)
	return m, err == nil, err
}

func (a *actionAnswerer) notef(format string, args ...any) {
	a.notes = append(a.notes, fmt.Sprintf(format, args...))
}

// take returns and forgets the notes so far.
func (a *actionAnswerer) take() []string {
	n := a.notes
	a.notes = nil
	return n
}

func resultSummary(r dmflow.ActionResult) string {
	s := r.Outcome
	if r.Status != 0 {
		s += fmt.Sprintf(" %d", r.Status)
	}
	if r.Error != "" {
		s += " (" + r.Error + ")"
	}
	return s
}

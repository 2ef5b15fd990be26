package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/actions"
	"gopkg.in/yaml.v3"
)

// Chat action modes (--actions).
const (
	actionsManual = "manual" // calls wait for /result
	actionsReal   = "real"   // HTTP calls are made, secrets from DMFLOW_SECRET_NAME
)

// loadMocks reads a --mock file: a YAML mapping of action names to results,
// written like a transcript's `mock:` (the response body, or {outcome,
// status, body, error}).
func loadMocks(path string) (map[string]*mockSpec, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--mock: %w", err)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(src)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("--mock: %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil, &posError{File: path, Line: 1, Col: 1, Msg: "no mocks in file"}
	}
	p := &tparser{file: path}
	mocks := p.mocks(doc.Content[0])
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return mocks, nil
}

// actionAnswerer answers chat's action calls: a mock by the call's name
// first, then (--actions real) an HTTP call for real; anything else stays
// pending for /result. Each answer is noted for the status lines.
type actionAnswerer struct {
	ctx   context.Context
	mocks map[string]*mockSpec
	http  *actions.HTTP // nil: manual
	notes []string
}

func newActionAnswerer(ctx context.Context, o chatOptions, env func(string) (string, bool)) *actionAnswerer {
	a := &actionAnswerer{ctx: ctx, mocks: o.Mocks}
	if o.Actions == actionsReal {
		a.http = &actions.HTTP{LookupEnv: func(name string) (string, bool) {
			if env == nil {
				return "", false
			}
			return env(envSecretPrefix + name)
		}}
	}
	return a
}

func (a *actionAnswerer) answer(call dmflow.ActionCall) (*mockSpec, bool, error) {
	if m := a.mocks[call.Name]; m != nil {
		a.notef("-- action %s: %s → mocked %s", call.Name, callSummary(call), m.Outcome)
		return m, true, nil
	}
	if a.http == nil || call.Kind != "http" {
		return nil, false, nil
	}
	res := a.http.Run(a.ctx, call)
	a.notef("-- action %s: %s → %s", call.Name, callSummary(call), resultSummary(res))
	m := &mockSpec{Outcome: res.Outcome, Status: res.Status, Error: res.Error}
	if len(res.Body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(res.Body))
		dec.UseNumber() // re-encoded exactly by resultEvent
		if err := dec.Decode(&m.Body); err != nil {
			return nil, false, fmt.Errorf("action %s: response body: %w", call.Name, err)
		}
	}
	return m, true, nil
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

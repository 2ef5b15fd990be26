package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/dmflow/dmflow"
)

// Func is a Go action. It returns the JSON-compatible result the flow sees
// as the action's body, or an error (outcome "error").
type Func func(ctx context.Context, call dmflow.ActionCall) (map[string]any, error)

// Registry holds Go actions by name. It is safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	funcs map[string]Func
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{funcs: map[string]Func{}} }

// Register adds a Go action; a name may be registered once.
func (r *Registry) Register(name string, f Func) error {
	if name == "" || f == nil {
		return fmt.Errorf("actions: register %q: empty name or nil func: %w", name, dmflow.ErrInvalid)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.funcs[name]; dup {
		return fmt.Errorf("actions: register %q: already registered: %w", name, dmflow.ErrInvalid)
	}
	r.funcs[name] = f
	return nil
}

// Names lists the registered actions, sorted (for flow validation).
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.funcs))
	for n := range r.funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Run calls the action named call.Name with call.Timeout (if set) and
// reports its outcome. A panic in the action is reported as an error.
func (r *Registry) Run(ctx context.Context, call dmflow.ActionCall) (res dmflow.ActionResult) {
	res = dmflow.ActionResult{ID: call.ID, Name: call.Name}
	r.mu.RLock()
	f := r.funcs[call.Name]
	r.mu.RUnlock()
	if f == nil {
		return fail(res, dmflow.OutcomeError, fmt.Sprintf("no Go action %q registered", call.Name))
	}
	if call.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, call.Timeout)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			res = fail(dmflow.ActionResult{ID: call.ID, Name: call.Name}, dmflow.OutcomeError, fmt.Sprintf("panic: %v", p))
		}
	}()
	out, err := f(ctx, call)
	if errors.Is(err, context.DeadlineExceeded) || (err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)) {
		return fail(res, dmflow.OutcomeTimeout, "timed out")
	}
	if err != nil {
		return fail(res, dmflow.OutcomeError, err.Error())
	}
	body, err := json.Marshal(out)
	if err != nil {
		return fail(res, dmflow.OutcomeInvalid, "result is not JSON-compatible: "+err.Error())
	}
	res.Outcome, res.Body = dmflow.OutcomeOK, body
	return res
}

// Runner dispatches a call to HTTP (Kind "http") or Go (Kind "go"). It
// satisfies bot.ActionRunner.
type Runner struct {
	HTTP *HTTP
	Go   *Registry
}

// Run runs the call with the runner for its Kind.
func (r Runner) Run(ctx context.Context, call dmflow.ActionCall) dmflow.ActionResult {
	switch {
	case call.Kind == "http" && r.HTTP != nil:
		return r.HTTP.Run(ctx, call)
	case call.Kind == "go" && r.Go != nil:
		return r.Go.Run(ctx, call)
	}
	return fail(dmflow.ActionResult{ID: call.ID, Name: call.Name}, dmflow.OutcomeError,
		fmt.Sprintf("no runner for action kind %q", call.Kind))
}

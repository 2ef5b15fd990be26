package accounts

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmflow/dmflow"
)

// Default names the bundle (and settings) of accounts without their own.
const Default = "default"

// ErrNoBundle is the error of Step for an event of an account that has no
// bundle of its own when there is no Default bundle either.
var ErrNoBundle = errors.New("accounts: no flow bundle for this account and no default bundle")

// Engine runs one event against a session; *engine.Engine and bot.Engine
// have this method set.
type Engine interface {
	Step(ctx context.Context, s *dmflow.Session, ev dmflow.Event, now time.Time) (*dmflow.Turn, error)
}

// Source says which accounts have a bundle and builds an account's engine.
type Source interface {
	// Accounts lists the account ids with a bundle of their own, plus
	// Default when there is a default bundle. A full reload asks again, so
	// an account added meanwhile is loaded and one removed is dropped.
	Accounts() ([]string, error)
	// Load builds the engine of account (an id or Default) from its
	// current bundle. Flow errors come back positioned (file:line:col).
	Load(ctx context.Context, account string) (Engine, error)
}

// Set maps accounts to engines. It is safe for concurrent use; Step never
// waits for a reload.
type Set struct {
	src Source
	mu  sync.Mutex // serialises reloads
	m   atomic.Pointer[map[string]Engine]
}

// New loads every account's bundle of src. Any failure is an error (listing
// every failing account): a deployment does not start with a broken bundle.
func New(ctx context.Context, src Source) (*Set, error) {
	ids, err := src.Accounts()
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, errors.New("accounts: no bundle: want an account sub-directory or default/")
	}
	m := map[string]Engine{}
	var fails []Failure
	for _, id := range ids {
		e, err := load(ctx, src, id)
		if err != nil {
			fails = append(fails, Failure{id, err})
			continue
		}
		m[id] = e
	}
	if len(fails) > 0 {
		return nil, &LoadError{Failures: fails}
	}
	s := &Set{src: src}
	s.m.Store(&m)
	return s, nil
}

// Single returns a Set serving every account with e, as the Default.
func Single(e Engine) *Set {
	s := &Set{}
	m := map[string]Engine{Default: e}
	s.m.Store(&m)
	return s
}

func load(ctx context.Context, src Source, id string) (Engine, error) {
	e, err := src.Load(ctx, id)
	if err == nil && e == nil {
		err = errors.New("no engine built")
	}
	return e, err
}

// Step runs ev with the engine of ev.Account (else the Default engine).
func (s *Set) Step(ctx context.Context, sess *dmflow.Session, ev dmflow.Event, now time.Time) (*dmflow.Turn, error) {
	e := s.Engine(ev.Account)
	if e == nil {
		return nil, fmt.Errorf("account %s: %w", ev.Account, ErrNoBundle)
	}
	return e.Step(ctx, sess, ev, now)
}

// Engine returns the engine serving account: its own, else the Default
// one, else nil.
func (s *Set) Engine(account string) Engine {
	m := *s.m.Load()
	if e, ok := m[account]; ok {
		return e
	}
	return m[Default]
}

// Bundle reports which bundle serves account: account itself, Default, or
// "" when none does.
func (s *Set) Bundle(account string) string {
	m := *s.m.Load()
	if _, ok := m[account]; ok && account != "" {
		return account
	}
	if _, ok := m[Default]; ok {
		return Default
	}
	return ""
}

// Accounts returns the ids with a loaded bundle (Default included), sorted.
func (s *Set) Accounts() []string {
	return slices.Sorted(maps.Keys(*s.m.Load()))
}

// Failure is an account whose bundle did not load.
type Failure struct {
	Account string
	Err     error
}

// LoadError lists the accounts whose bundles failed to load.
type LoadError struct{ Failures []Failure }

func (e *LoadError) Error() string {
	var b strings.Builder
	for i, f := range e.Failures {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "account %s: %v", f.Account, f.Err)
	}
	return b.String()
}

// FailedAccounts lists the accounts that failed.
func (e *LoadError) FailedAccounts() []string {
	out := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		out[i] = f.Account
	}
	return out
}

// Unwrap returns the accounts' errors.
func (e *LoadError) Unwrap() []error {
	out := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		out[i] = f.Err
	}
	return out
}

// Result is what Reload did. An account in Failed keeps its old bundle
// (or, when it had none, is served by the Default bundle).
type Result struct {
	Reloaded []string  // new bundle installed (added ones included)
	Added    []string  // accounts that had no bundle of their own before
	Removed  []string  // bundles dropped: the source lists them no more
	Failed   []Failure // kept the old bundle
}

// Err is nil when every asked account reloaded, else a *LoadError.
func (r Result) Err() error {
	if len(r.Failed) == 0 {
		return nil
	}
	return &LoadError{Failures: r.Failed}
}

// Reload loads the given accounts' bundles again, or every account's when
// none is given (then accounts the source lists anew are added and those it
// lists no more are removed). Each account that loads is replaced at once;
// one that fails keeps its old bundle. Naming an account the source does
// not list is a failure of that account. Events being stepped finish with
// the engine they started with.
func (s *Set) Reload(ctx context.Context, accounts ...string) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r Result
	if s.src == nil {
		for _, id := range orAll(accounts, []string{"*"}) {
			r.Failed = append(r.Failed, Failure{id, errors.New("no flow source to reload from")})
		}
		return r
	}
	listed, err := s.src.Accounts()
	if err != nil {
		for _, id := range orAll(accounts, []string{"*"}) {
			r.Failed = append(r.Failed, Failure{id, err})
		}
		return r
	}
	old := *s.m.Load()
	next := maps.Clone(old)
	all := len(accounts) == 0
	if all {
		accounts = listed
		for id := range old {
			if !slices.Contains(listed, id) {
				delete(next, id)
				r.Removed = append(r.Removed, id)
			}
		}
	}
	for _, id := range dedupe(accounts) {
		if !slices.Contains(listed, id) {
			r.Failed = append(r.Failed, Failure{id, fmt.Errorf("unknown account: no bundle of its own (have: %s)", strings.Join(listed, ", "))})
			continue
		}
		e, err := load(ctx, s.src, id)
		if err != nil {
			r.Failed = append(r.Failed, Failure{id, err})
			continue
		}
		if _, had := old[id]; !had {
			r.Added = append(r.Added, id)
		}
		next[id] = e
		r.Reloaded = append(r.Reloaded, id)
	}
	slices.Sort(r.Removed)
	s.m.Store(&next)
	return r
}

func orAll(ids, def []string) []string {
	if len(ids) == 0 {
		return def
	}
	return ids
}

func dedupe(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

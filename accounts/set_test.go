package accounts_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/accounts"
)

// named is an engine that answers with its name (bundle@version).
type named string

func (n named) Step(_ context.Context, s *dmflow.Session, ev dmflow.Event, _ time.Time) (*dmflow.Turn, error) {
	return &dmflow.Turn{Session: &dmflow.Session{Key: ev.SessionKey(), Flow: string(n)}}, nil
}

// source is a Source over a map: account → bundle ("!msg" fails to load
// with msg). Loads counts the loads per account.
type source struct {
	bundles map[string]string
	version int
	loads   map[string]int
}

func (s *source) Accounts() ([]string, error) { return slices.Sorted(maps.Keys(s.bundles)), nil }

func (s *source) Load(_ context.Context, account string) (accounts.Engine, error) {
	if s.loads == nil {
		s.loads = map[string]int{}
	}
	s.loads[account]++
	b, ok := s.bundles[account]
	if !ok {
		return nil, errors.New("gone")
	}
	if msg, bad := strings.CutPrefix(b, "!"); bad {
		return nil, errors.New(msg)
	}
	return named(b + "@" + string(rune('0'+s.version))), nil
}

// serving returns which engine answers for each account.
func serving(t *testing.T, set *accounts.Set, ids ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range ids {
		turn, err := set.Step(context.Background(), nil, dmflow.Event{Key: "k", Account: id, User: "u"}, time.Time{})
		if err != nil {
			out[id] = "error: " + err.Error()
			continue
		}
		out[id] = turn.Session.Flow
	}
	return out
}

func TestSetMapping(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bundles map[string]string
		want    map[string]string // account → engine answering
		wantErr string            // New fails
	}{
		{
			name:    "own bundles and default",
			bundles: map[string]string{"1": "shop", "2": "salon", accounts.Default: "generic"},
			want:    map[string]string{"1": "shop@0", "2": "salon@0", "3": "generic@0", "": "generic@0"},
		},
		{
			name:    "no default: unknown accounts get an error",
			bundles: map[string]string{"1": "shop"},
			want:    map[string]string{"1": "shop@0", "3": "error: account 3: " + accounts.ErrNoBundle.Error()},
		},
		{
			name:    "only a default",
			bundles: map[string]string{accounts.Default: "generic"},
			want:    map[string]string{"1": "generic@0"},
		},
		{
			name:    "a broken bundle refuses the start, naming every broken account",
			bundles: map[string]string{"1": "!flows/1/a.yaml:3:5: bad", "2": "salon", "3": "!flows/3/b.yaml:1:1: worse"},
			wantErr: "account 1: flows/1/a.yaml:3:5: bad\naccount 3: flows/3/b.yaml:1:1: worse",
		},
		{
			name:    "nothing to serve",
			bundles: map[string]string{},
			wantErr: "no bundle",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := accounts.New(context.Background(), &source{bundles: tc.bundles})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New: err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := serving(t, set, slices.Collect(maps.Keys(tc.want))...)
			if !maps.Equal(got, tc.want) {
				t.Errorf("serving %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSetReload(t *testing.T) {
	start := map[string]string{"1": "shop", "2": "salon", accounts.Default: "generic"}
	for _, tc := range []struct {
		name      string
		change    map[string]string // bundles after the edit ("" deletes)
		reload    []string          // accounts named (none: all)
		want      map[string]string
		reloaded  []string
		added     []string
		removed   []string
		failed    []string
		wantLoads map[string]int // loads during Reload
	}{
		{
			name:     "all reload",
			want:     map[string]string{"1": "shop@1", "2": "salon@1", "9": "generic@1"},
			reloaded: []string{"1", "2", accounts.Default},
		},
		{
			name:      "one account only",
			reload:    []string{"2"},
			want:      map[string]string{"1": "shop@0", "2": "salon@1", "9": "generic@0"},
			reloaded:  []string{"2"},
			wantLoads: map[string]int{"2": 1},
		},
		{
			name:     "a broken bundle keeps its old engine, the others reload",
			change:   map[string]string{"1": "!flows/1/a.yaml:2:3: unknown state"},
			want:     map[string]string{"1": "shop@0", "2": "salon@1", "9": "generic@1"},
			reloaded: []string{"2", accounts.Default},
			failed:   []string{"1"},
		},
		{
			name:     "a broken default keeps the old default for accounts without a bundle",
			change:   map[string]string{accounts.Default: "!bad"},
			reload:   []string{accounts.Default},
			want:     map[string]string{"1": "shop@0", "9": "generic@0"},
			failed:   []string{accounts.Default},
			reloaded: nil,
		},
		{
			name:     "an added account is loaded, a removed one dropped (its users get the default)",
			change:   map[string]string{"3": "florist", "2": ""},
			want:     map[string]string{"1": "shop@1", "2": "generic@1", "3": "florist@1"},
			reloaded: []string{"1", "3", accounts.Default},
			added:    []string{"3"},
			removed:  []string{"2"},
		},
		{
			name:      "naming an unknown account fails it and changes nothing",
			reload:    []string{"42"},
			want:      map[string]string{"1": "shop@0", "42": "generic@0"},
			failed:    []string{"42"},
			wantLoads: map[string]int{},
		},
		{
			name:     "a new account with a broken bundle is not served by it",
			change:   map[string]string{"3": "!broken"},
			want:     map[string]string{"3": "generic@1", "1": "shop@1"},
			failed:   []string{"3"},
			reloaded: []string{"1", "2", accounts.Default},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &source{bundles: maps.Clone(start)}
			set, err := accounts.New(context.Background(), src)
			if err != nil {
				t.Fatal(err)
			}
			src.version, src.loads = 1, nil
			for id, b := range tc.change {
				if b == "" {
					delete(src.bundles, id)
				} else {
					src.bundles[id] = b
				}
			}
			r := set.Reload(context.Background(), tc.reload...)
			if got := serving(t, set, slices.Collect(maps.Keys(tc.want))...); !maps.Equal(got, tc.want) {
				t.Errorf("serving %v, want %v", got, tc.want)
			}
			var failed []string
			for _, f := range r.Failed {
				failed = append(failed, f.Account)
			}
			check := func(what string, got, want []string) {
				t.Helper()
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s %v, want %v", what, got, want)
				}
			}
			check("reloaded", r.Reloaded, tc.reloaded)
			check("added", r.Added, tc.added)
			check("removed", r.Removed, tc.removed)
			check("failed", failed, tc.failed)
			if (r.Err() != nil) != (len(tc.failed) > 0) {
				t.Errorf("Err() = %v with failures %v", r.Err(), tc.failed)
			}
			if tc.wantLoads != nil && !maps.Equal(src.loads, tc.wantLoads) && !(len(tc.wantLoads) == 0 && len(src.loads) == 0) {
				t.Errorf("loads %v, want %v", src.loads, tc.wantLoads)
			}
		})
	}
}

// TestSetReloadError: the error names the failing accounts, with the
// loader's positioned message, and FailedAccounts lists them for metrics.
func TestSetReloadError(t *testing.T) {
	src := &source{bundles: map[string]string{"1": "shop", "2": "salon"}}
	set, err := accounts.New(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	src.bundles["2"] = "!flows/2/main.yaml:4:7: unknown state \"nope\""
	err = set.Reload(context.Background()).Err()
	if err == nil || err.Error() != `account 2: flows/2/main.yaml:4:7: unknown state "nope"` {
		t.Fatalf("err %v", err)
	}
	var le *accounts.LoadError
	if !errors.As(err, &le) || !slices.Equal(le.FailedAccounts(), []string{"2"}) {
		t.Fatalf("LoadError %#v", le)
	}
}

// TestSetStepDuringReload: Step never blocks on a reload and always sees a
// complete mapping (run with -race).
func TestSetStepDuringReload(t *testing.T) {
	src := &source{bundles: map[string]string{"1": "shop", accounts.Default: "generic"}}
	set, err := accounts.New(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			set.Reload(context.Background())
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		if got := serving(t, set, "1")["1"]; !strings.HasPrefix(got, "shop@") {
			t.Fatalf("account 1 served by %q", got)
		}
	}
}

package actions_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/internal/testutil"
)

func TestRegistryOutcomes(t *testing.T) {
	r := actions.NewRegistry()
	must(t, r.Register("ok", func(_ context.Context, c dmflow.ActionCall) (map[string]any, error) {
		return map[string]any{"echo": c.Args["x"]}, nil
	}))
	must(t, r.Register("fails", func(context.Context, dmflow.ActionCall) (map[string]any, error) {
		return nil, errors.New("crm down")
	}))
	must(t, r.Register("slow", func(ctx context.Context, _ dmflow.ActionCall) (map[string]any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	must(t, r.Register("panics", func(context.Context, dmflow.ActionCall) (map[string]any, error) { panic("oops") }))
	must(t, r.Register("weird", func(context.Context, dmflow.ActionCall) (map[string]any, error) {
		return map[string]any{"f": func() {}}, nil
	}))
	if err := r.Register("ok", nil); !errors.Is(err, dmflow.ErrInvalid) {
		t.Fatalf("duplicate register: %v", err)
	}
	cases := []struct{ name, outcome, body, err string }{
		{"ok", dmflow.OutcomeOK, `{"echo":3}`, ""},
		{"fails", dmflow.OutcomeError, "", "crm down"},
		{"slow", dmflow.OutcomeTimeout, "", "timed out"},
		{"panics", dmflow.OutcomeError, "", "panic: oops"},
		{"weird", dmflow.OutcomeInvalid, "", "result is not JSON-compatible: json: unsupported type: func()"},
		{"missing", dmflow.OutcomeError, "", `no Go action "missing" registered`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Only "slow" may time out; it waits for its context, so a
			// tiny timeout always fires. The others get a deadline no
			// busy machine reaches: a short one would race their work.
			timeout := testutil.Scale(testutil.Wait)
			if tc.name == "slow" {
				timeout = time.Millisecond
			}
			c := dmflow.ActionCall{ID: "id-" + tc.name, Name: tc.name, Kind: "go", Args: map[string]any{"x": 3},
				Timeout: timeout}
			res := actions.Runner{Go: r}.Run(context.Background(), c)
			if res.Outcome != tc.outcome || string(res.Body) != tc.body || res.Error != tc.err || res.ID != c.ID {
				t.Fatalf("result %+v, want %s %s %q", res, tc.outcome, tc.body, tc.err)
			}
		})
	}
	if got := fmt.Sprint(r.Names()); got != "[fails ok panics slow weird]" {
		t.Fatalf("names %s", got)
	}
}

func TestRunnerUnknownKind(t *testing.T) {
	res := actions.Runner{}.Run(context.Background(), dmflow.ActionCall{ID: "1", Kind: "ftp"})
	if res.Outcome != dmflow.OutcomeError {
		t.Fatalf("result %+v", res)
	}
}

func ExampleRegistry() {
	r := actions.NewRegistry()
	_ = r.Register("quote", func(_ context.Context, c dmflow.ActionCall) (map[string]any, error) {
		return map[string]any{"price": 10 * c.Args["qty"].(int)}, nil
	})
	res := actions.Runner{Go: r}.Run(context.Background(),
		dmflow.ActionCall{ID: "c1", Name: "quote", Kind: "go", Args: map[string]any{"qty": 3}})
	fmt.Println(res.Outcome, string(res.Body))
	// Output: ok {"price":30}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

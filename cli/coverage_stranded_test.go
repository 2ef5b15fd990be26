package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/bolt"
)

// TestValidateAgainstSubflowCallers: a session inside a sub-flow also
// needs its callers' places; validate --against reports a caller whose
// flow is gone as stranded and a caller a migrate entry moves as migrated.
func TestValidateAgainstSubflowCallers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "callers.db")
	db, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for user, s := range map[string]dmflow.Session{
		"u-caller-gone":     {Flow: "shop", FlowVersion: 1, State: "listen", Stack: []dmflow.Frame{{Flow: "retired", State: "ask"}}},
		"u-caller-moved":    {Flow: "shop", FlowVersion: 1, State: "listen", Stack: []dmflow.Frame{{Flow: "shop", State: "waiting"}}},
		"u-both-gone":       {Flow: "retired", FlowVersion: 1, State: "ask", Stack: []dmflow.Frame{{Flow: "retired", State: "menu"}}},
		"u-caller-stays":    {Flow: "shop", FlowVersion: 1, State: "waiting", Stack: []dmflow.Frame{{Flow: "shop", State: "listen"}}},
		"u-no-state-yet":    {Flow: "retired", FlowVersion: 1},
		"u-ended-somewhere": {Flow: "retired", FlowVersion: 1, State: "ask", Ended: true},
	} {
		s.Key = dmflow.SessionKey{Account: testAccount, User: user}
		if err := db.Commit(context.Background(), dmflow.Commit{Key: s.Key, Session: &s, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCmd(t, envMap{}, "validate", "--against", path, writeFile(t, "shop.yaml", migratingFlow))
	if code != exitFail || !strings.Contains(errs, "2 sessions would lose their place") {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	for _, want := range []string{
		testAccount + `/u-both-gone     retired  1        ask      stranded: flow "retired" is gone`,
		testAccount + `/u-caller-gone   shop     1        listen   stranded: caller flow "retired" is gone`,
		testAccount + `/u-caller-moved  shop     1        listen   migrated: caller state "waiting" of flow "shop" moves to "listen"`,
		testAccount + `/u-caller-stays  shop     1        waiting  migrated: state "waiting" of flow "shop" moves to "listen"`,
		"6 sessions checked, 2 stranded, 2 migrated by ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
}

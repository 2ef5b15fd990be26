package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/postgres"
	"github.com/dmflow/dmflow/store/storetest"
)

// TestWorkSessionStaleCopy: replica A holds user u and has u's session
// from its claim; an operator on replica B resets u and u starts again,
// reaching the same version with other contents. A's commit based on its
// stale copy fails with ErrConflict (the record is compared, not only the
// version), and A's next WorkSession reads the stored session.
func TestWorkSessionStaleCopy(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	a, b := openSchema(t, schema, 2), openSchema(t, schema, 2)
	k := storetest.Key("u")
	claimOne := func(key string) dmflow.InboxItem {
		t.Helper()
		if _, err := a.AppendInbox(ctx, []dmflow.Event{storetest.Msg("u", key)}, storetest.T0); err != nil {
			t.Fatal(err)
		}
		items, err := a.ClaimInbox(ctx, dmflow.Claim{Owner: "A", Max: 10, Now: storetest.T0})
		if err != nil || len(items) != 1 {
			t.Fatalf("claim: %d items, %v; want 1", len(items), err)
		}
		return items[0]
	}
	commit := func(db *postgres.DB, c dmflow.Commit) error {
		c.Key, c.Now = k, storetest.T0
		return db.Commit(ctx, c)
	}

	it := claimOne("m1")
	if _, err := a.WorkSession(ctx, "A", k); !errors.Is(err, dmflow.ErrNotFound) {
		t.Fatalf("WorkSession of a new user: %v, want ErrNotFound", err)
	}
	if err := commit(a, dmflow.Commit{Owner: "A", Seq: it.Seq, Session: &dmflow.Session{Key: k, State: "a1"}}); err != nil {
		t.Fatal(err)
	}
	it = claimOne("m2") // A's copy: version 1, state a1

	if err := commit(b, dmflow.Commit{Delete: true}); err != nil {
		t.Fatal(err)
	}
	if err := commit(b, dmflow.Commit{Session: &dmflow.Session{Key: k, State: "b1"}}); err != nil {
		t.Fatal(err)
	}
	if s, err := a.GetSession(ctx, k); err != nil || s.State != "b1" || s.Version != 1 {
		t.Fatalf("GetSession on A = %+v, %v; want the stored b1 at version 1", s, err)
	}

	s, err := a.WorkSession(ctx, "A", k)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != "a1" || s.Version != 1 {
		t.Fatalf("WorkSession = %+v, want A's copy from the claim (a1 at version 1)", s)
	}
	s.State = "a2"
	if err := commit(a, dmflow.Commit{Owner: "A", Seq: it.Seq, Session: s}); !errors.Is(err, dmflow.ErrConflict) {
		t.Fatalf("commit based on the stale copy: %v, want ErrConflict", err)
	}
	if s, err = a.WorkSession(ctx, "A", k); err != nil {
		t.Fatal(err)
	}
	if s.State != "b1" || s.Version != 1 {
		t.Fatalf("WorkSession after the conflict = %+v, want the stored b1 at version 1", s)
	}
	s.State = "b2"
	if err := commit(a, dmflow.Commit{Owner: "A", Seq: it.Seq, Session: s}); err != nil {
		t.Fatal(err)
	}
	if s, err := b.GetSession(ctx, k); err != nil || s.State != "b2" || s.Version != 2 {
		t.Fatalf("stored = %+v, %v; want b2 at version 2", s, err)
	}
}

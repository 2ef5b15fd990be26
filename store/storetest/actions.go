package storetest

import (
	"reflect"

	"github.com/dmflow/dmflow"
)

var actionTests = []test{
	{"ClaimComplete", testActions},
	{"Dedupe", testActionDedupe},
	{"Release", testActionRelease},
	{"Skip", testActionSkip},
}

// testActionSkip: a claim leaves out the calls of the accounts in
// Claim.Skip (an account holding its share of the runner) and takes the
// others' oldest first.
func testActionSkip(h *H) {
	for i, acct := range []string{"a", "a", "b", "a", "c"} {
		k := dmflow.SessionKey{Account: acct, User: "u1"}
		id := acct + string(rune('0'+i))
		h.commit(dmflow.Commit{Key: k, Now: T0, Actions: []dmflow.ActionCall{{ID: id, Name: "crm", Kind: "go", Key: k}}})
	}
	ids := func(items []dmflow.ActionItem) string {
		s := ""
		for _, it := range items {
			s += it.Call.ID + " "
		}
		return s
	}
	c := claimOf("A", 2, T0)
	c.Skip = []string{"a"}
	items, err := h.S.ClaimActions(h.Ctx, c)
	h.check(err, "ClaimActions")
	if got := ids(items); got != "b2 c4 " {
		h.Fatalf("claimed %q skipping a, want b2 c4", got)
	}
	items, err = h.S.ClaimActions(h.Ctx, claimOf("A", 10, T0))
	h.check(err, "ClaimActions")
	if got := ids(items); got != "a0 a1 a3 " {
		h.Fatalf("claimed %q, want a's", got)
	}
}

func (h *H) claimActs(owner string, now int) []dmflow.ActionItem {
	h.Helper()
	items, err := h.S.ClaimActions(h.Ctx, claimOf(owner, 10, Min(now)))
	h.check(err, "ClaimActions")
	return items
}

func testActions(h *H) {
	args := map[string]any{"n": 1, "s": "x"}
	h.commit(dmflow.Commit{Key: Key("u1"), Now: T0, Actions: []dmflow.ActionCall{
		{ID: "a1", Name: "crm", Kind: "go", Key: Key("u1"), Args: args}, {ID: "a2", Name: "crm", Kind: "go", Key: Key("u1")}}})
	a := h.claimActs("A", 0)
	if len(a) != 2 || a[0].Call.ID != "a1" || a[0].Attempts != 1 || !reflect.DeepEqual(a[0].Call.Args, args) {
		h.Fatalf("A claimed %+v", a)
	}
	if b := h.claimActs("B", 0); len(b) != 0 {
		h.Fatalf("B claimed leased calls: %+v", b)
	}
	if b := h.claimActs("B", 1); len(b) != 2 || b[1].Attempts != 2 {
		h.Fatalf("B after expiry claimed %+v", b)
	}
	res := dmflow.Event{Key: "action:a1", Kind: dmflow.KindActionResult, Account: "acct", User: "u1",
		Action: &dmflow.ActionResult{ID: "a1", Name: "crm", Outcome: dmflow.OutcomeOK, Status: 200}}
	h.check(h.S.CompleteAction(h.Ctx, "A", "a1", res, Min(1)), "CompleteAction")
	h.check(h.S.CompleteAction(h.Ctx, "B", "a1", res, Min(1)), "CompleteAction twice")
	items := h.claim("W", 10, Min(1))
	if len(items) != 1 || items[0].Event.Kind != dmflow.KindActionResult || items[0].Event.Action.Outcome != "ok" {
		h.Fatalf("inbox after completion: %+v", items)
	}
	if c := h.claimActs("C", 5); len(c) != 1 || c[0].Call.ID != "a2" {
		h.Fatalf("calls left: %+v", c)
	}
	h.check(h.S.CompleteAction(h.Ctx, "C", "unknown", res, Min(5)), "CompleteAction unknown")
}

func testActionDedupe(h *H) {
	call := dmflow.ActionCall{ID: "same", Name: "x", Kind: "go", Key: Key("u1")}
	h.commit(dmflow.Commit{Key: Key("u1"), Now: T0, Actions: []dmflow.ActionCall{call}})
	h.commit(dmflow.Commit{Key: Key("u1"), Now: T0, Actions: []dmflow.ActionCall{call}})
	if a := h.claimActs("A", 0); len(a) != 1 {
		h.Fatalf("recorded the same call id %d times", len(a))
	}
}

// testActionRelease: released calls are claimable at once by anyone, with
// Attempts kept; another owner's lease and unknown ids are left alone.
func testActionRelease(h *H) {
	var calls []dmflow.ActionCall
	for _, id := range []string{"r1", "r2", "r3"} {
		calls = append(calls, dmflow.ActionCall{ID: id, Name: "crm", Kind: "go", Key: Key("u1")})
	}
	h.commit(dmflow.Commit{Key: Key("u1"), Now: T0, Actions: calls})
	if a := h.claimActs("A", 0); len(a) != 3 {
		h.Fatalf("A claimed %+v", a)
	}
	h.check(h.S.ReleaseActions(h.Ctx, "B", "r1"), "ReleaseActions by a non-owner")
	h.check(h.S.ReleaseActions(h.Ctx, "A", "r1", "unknown"), "ReleaseActions r1")
	b := h.claimActs("B", 0)
	if len(b) != 1 || b[0].Call.ID != "r1" || b[0].Attempts != 2 {
		h.Fatalf("B after A released r1 claimed %+v, want r1 (attempt 2)", b)
	}
	h.check(h.S.ReleaseActions(h.Ctx, "A"), "ReleaseActions all")
	c := h.claimActs("C", 0)
	if len(c) != 2 || c[0].Call.ID != "r2" || c[1].Call.ID != "r3" {
		h.Fatalf("C after A released all claimed %+v, want r2 and r3 (r1 is B's)", c)
	}
	if d := h.claimActs("D", 0); len(d) != 0 {
		h.Fatalf("D claimed live calls: %+v", d)
	}
}

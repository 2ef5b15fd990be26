package storetest

import (
	"reflect"

	"github.com/dmflow/dmflow"
)

var tokenTests = []test{{"RoundTrip", testTokens}}

func testTokens(h *H) {
	_, err := h.S.GetToken(h.Ctx, "a1")
	h.wantErr(err, dmflow.ErrNotFound, "GetToken before Put")
	h.wantErr(h.S.PutToken(h.Ctx, dmflow.Token{AccessToken: "x"}), dmflow.ErrInvalid, "PutToken without account")
	t2 := dmflow.Token{Account: "a2", AccessToken: "s2", Scopes: []string{"instagram_business_basic"}, ExpiresAt: Min(60), NeedsReauth: true}
	t1 := dmflow.Token{Account: "a1", AccessToken: "old"}
	for _, t := range []dmflow.Token{t2, t1, {Account: "a1", AccessToken: "s1", Username: "shop", IssuedAt: T0}} {
		h.check(h.S.PutToken(h.Ctx, t), "PutToken")
	}
	got, err := h.S.GetToken(h.Ctx, "a2")
	h.check(err, "GetToken")
	if !reflect.DeepEqual(*got, t2) {
		h.Fatalf("GetToken = %+v, want %+v", got, t2)
	}
	all, err := h.S.ListTokens(h.Ctx)
	h.check(err, "ListTokens")
	if len(all) != 2 || all[0].Account != "a1" || all[0].AccessToken != "s1" || all[1].Account != "a2" {
		h.Fatalf("ListTokens = %v", all)
	}
}

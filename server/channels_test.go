package server_test

import (
	"context"
	"slices"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/server"
)

type forgetful struct{ asked, forgot []string }

func (f *forgetful) Profile(_ context.Context, account, user string) (dmflow.Profile, error) {
	f.asked = append(f.asked, account+"/"+user)
	return dmflow.Profile{Username: user}, nil
}

func (f *forgetful) ForgetProfile(account, user string) {
	f.forgot = append(f.forgot, account+"/"+user)
}

// TestProfilesExcept: the skipped account's users get an empty profile
// without a lookup; the others are asked, and refresh_profile's forget
// still reaches the cache behind (it did not: the wrapper hid it).
func TestProfilesExcept(t *testing.T) {
	f := &forgetful{}
	p := server.ProfilesExcept(f, "page")
	ctx := context.Background()
	if got, _ := p.Profile(ctx, "page", "u1"); got.Username != "" {
		t.Errorf("page user: %+v", got)
	}
	if got, _ := p.Profile(ctx, "ig", "u1"); got.Username != "u1" {
		t.Errorf("instagram user: %+v", got)
	}
	pf, ok := p.(bot.ProfileForgetter)
	if !ok {
		t.Fatal("ProfilesExcept hides ForgetProfile")
	}
	pf.ForgetProfile("ig", "u1")
	pf.ForgetProfile("page", "u1")
	if !slices.Equal(f.asked, []string{"ig/u1"}) || !slices.Equal(f.forgot, []string{"ig/u1"}) {
		t.Errorf("asked %v, forgot %v", f.asked, f.forgot)
	}
}

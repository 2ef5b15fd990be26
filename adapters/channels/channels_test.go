package channels_test

import (
	"slices"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/channels"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/messenger"
	"github.com/dmflow/dmflow/flows"
)

// TestKnown: every adapter is listed under its Channel, the default
// channels of a bundle are known, and an unknown name is not.
func TestKnown(t *testing.T) {
	if got := channels.Names(); !slices.Equal(got, []string{"instagram", "messenger"}) {
		t.Errorf("Names = %v", got)
	}
	for _, a := range []dmflow.Adapter{instagram.Adapter{}, messenger.Adapter{}} {
		c, ok := channels.Capabilities(a.Channel())
		if !ok || !slices.Equal(c.Replies, a.Capabilities().Replies) {
			t.Errorf("%s: %v %v, want the adapter's capabilities", a.Channel(), c, ok)
		}
	}
	for _, n := range flows.DefaultChannels {
		if _, ok := channels.Capabilities(n); !ok {
			t.Errorf("default channel %s is unknown", n)
		}
	}
	if _, ok := channels.Capabilities("telegram"); ok {
		t.Error("telegram is known")
	}
}

package flowtest

import (
	"fmt"
	"slices"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/channels"
)

// DefaultChannel is the Event.Channel of a conversation that names none
// (a transcript without `channel:`, chat): no channel's rendering rules
// apply to its replies.
const DefaultChannel = "test"

// KnownChannel reports whether a conversation can be on channel: the
// DefaultChannel or one adapters/channels knows.
func KnownChannel(name string) bool {
	_, ok := channels.Capabilities(name)
	return ok || name == DefaultChannel
}

// ChannelNames are the channels a conversation can be on, DefaultChannel
// first.
func ChannelNames() []string { return append([]string{DefaultChannel}, channels.Names()...) }

// Unrenderable lists the replies channel cannot deliver, as the channel's
// sender would refuse them (a permanent error: serve dead-letters them):
// a reply kind it does not render, more quick replies than it allows. No
// rule applies on DefaultChannel or a channel without an adapter.
func Unrenderable(channel string, replies []dmflow.Outgoing) []string {
	caps, ok := channels.Capabilities(channel)
	if !ok {
		return nil
	}
	var out []string
	for i, r := range replies {
		switch k := r.Reply.Kind; {
		case !caps.Renders(k):
			out = append(out, fmt.Sprintf("reply %d: %s cannot render %s replies (the sender refuses it)", i+1, channel, k))
		case len(r.Reply.QuickReplies) > caps.MaxQuickReplies:
			out = append(out, fmt.Sprintf("reply %d: %d quick replies, %s allows at most %d", i+1, len(r.Reply.QuickReplies), channel, caps.MaxQuickReplies))
		}
	}
	return slices.Clip(out)
}

package cli

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/channels"
	"github.com/dmflow/dmflow/flows"
)

// parseChannels splits a --channels list; unknown names are an error.
func parseChannels(list string) ([]string, error) {
	var out []string
	for _, c := range strings.Split(list, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" {
			continue
		}
		if _, ok := channels.Capabilities(c); !ok {
			return nil, fmt.Errorf("--channels: unknown channel %q (known: %s)", c, strings.Join(channels.Names(), ", "))
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// replyKind is the dmflow reply kind a declared reply renders to.
func replyKind(r *flows.ReplySpec) dmflow.ReplyKind {
	switch {
	case r.Heart:
		return dmflow.ReplyLikeHeart
	case r.Share != nil:
		return dmflow.ReplyMediaShare
	case r.Buttons != nil:
		return dmflow.ReplyButtons
	case len(r.Cards) > 0:
		return dmflow.ReplyGeneric
	case len(r.Media) > 0:
		return dmflow.ReplyMedia
	case r.Typing != "", r.Seen:
		return dmflow.ReplyAction
	case r.React != nil:
		return dmflow.ReplyReact
	case r.PublicReply != nil:
		return dmflow.ReplyCommentReply
	case r.Moderate != "":
		return dmflow.ReplyModerate
	}
	return dmflow.ReplyText
}

// bundleChannels are the channels a bundle is checked against: the
// --channels list when given, else the bundle's own `channels:` (default
// flows.DefaultChannels). A declared channel dmflow has no adapter for is
// an error at its position.
func bundleChannels(b *flows.Bundle, flag []string) ([]string, []diagnostic) {
	if len(flag) > 0 {
		return flag, nil
	}
	var names []string
	var out []diagnostic
	for _, c := range b.Channels {
		if _, ok := channels.Capabilities(c.Name); !ok {
			out = append(out, diagnostic{File: c.Pos.File, Line: c.Pos.Line, Col: c.Pos.Col, Severity: "error",
				Message: fmt.Sprintf("channels: unknown channel %q (known: %s)", c.Name, strings.Join(channels.Names(), ", "))})
			continue
		}
		names = append(names, c.Name)
	}
	if b.Channels == nil {
		names = flows.ChannelNames(nil)
	}
	return names, out
}

// channelDiagnostics reports, at its position, every declared reply that
// one of chans cannot render (an Instagram heart or reaction on
// Messenger, ...), and quick replies over a channel's limit.
func channelDiagnostics(b *flows.Bundle, chans []string) []diagnostic {
	var out []diagnostic
	check := func(rs []*flows.ReplySpec) {
		for _, r := range rs {
			kind := replyKind(r)
			for _, c := range chans {
				caps, _ := channels.Capabilities(c)
				if !caps.Renders(kind) {
					out = append(out, diagnostic{File: r.Pos.File, Line: r.Pos.Line, Col: r.Pos.Col, Severity: "error",
						Message: fmt.Sprintf("%s cannot render %s replies (declared channels: %s)", c, kind, strings.Join(chans, ", "))})
				}
				if n := len(r.QuickReplies); n > caps.MaxQuickReplies {
					out = append(out, diagnostic{File: r.Pos.File, Line: r.Pos.Line, Col: r.Pos.Col, Severity: "error",
						Message: fmt.Sprintf("%d quick replies, %s allows at most %d", n, c, caps.MaxQuickReplies)})
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(b.Flows)) {
		f := b.Flows[name]
		for _, t := range f.Triggers {
			check(t.Say)
		}
		for _, sn := range slices.Sorted(maps.Keys(f.States)) {
			s := f.States[sn]
			check(s.Say)
			if s.Ask != nil {
				check(s.Ask.Retry)
			}
			if s.Timeout != nil {
				check(s.Timeout.Say)
			}
			for _, t := range s.On {
				check(t.Say)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b diagnostic) int {
		if a.File != b.File {
			return strings.Compare(a.File, b.File)
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
	return out
}

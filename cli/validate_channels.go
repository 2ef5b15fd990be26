package cli

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/messenger"
	"github.com/dmflow/dmflow/flows"
)

// channelCaps are the channels `dmflow validate --channels` knows.
var channelCaps = map[string]dmflow.Capabilities{
	instagram.Channel: instagram.Capabilities,
	messenger.Channel: messenger.Capabilities,
}

// parseChannels splits a --channels list; unknown names are an error.
func parseChannels(list string) ([]string, error) {
	var out []string
	for _, c := range strings.Split(list, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" {
			continue
		}
		if _, ok := channelCaps[c]; !ok {
			return nil, fmt.Errorf("--channels: unknown channel %q (known: %s)", c, strings.Join(slices.Sorted(maps.Keys(channelCaps)), ", "))
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

// channelDiagnostics reports, at its position, every declared reply that
// one of channels cannot render (an Instagram heart or reaction on
// Messenger, ...), and quick replies over a channel's limit.
func channelDiagnostics(b *flows.Bundle, channels []string) []diagnostic {
	var out []diagnostic
	check := func(rs []*flows.ReplySpec) {
		for _, r := range rs {
			kind := replyKind(r)
			for _, c := range channels {
				caps := channelCaps[c]
				if !caps.Renders(kind) {
					out = append(out, diagnostic{File: r.Pos.File, Line: r.Pos.Line, Col: r.Pos.Col, Severity: "error",
						Message: fmt.Sprintf("%s cannot render %s replies (declared channels: %s)", c, kind, strings.Join(channels, ", "))})
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

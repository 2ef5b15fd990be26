package flows

import (
	"regexp"
	"slices"

	"gopkg.in/yaml.v3"
)

// channelRE is what a channel name looks like (instagram, messenger).
var channelRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// DefaultChannels are the channels of a bundle that declares none: the
// Instagram channel alone, what dmflow served before it had a second one.
var DefaultChannels = []string{"instagram"}

// Channel is one channel a bundle declares it runs on (`channels:` in the
// main flow), at the position of its name.
type Channel struct {
	Name string
	Pos  Pos
}

// ChannelNames are the names of cs, in declaration order; for a bundle
// that declares none (nil), DefaultChannels.
func ChannelNames(cs []Channel) []string {
	if cs == nil {
		return append([]string(nil), DefaultChannels...)
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

// channels decodes the flow's `channels`: a non-empty list of distinct
// channel names. Which names exist is not known here (flows imports no
// adapter): `dmflow validate` checks them against the channels it serves.
func (d *decoder) channels(n *yaml.Node) {
	if n == nil {
		return
	}
	items := d.seq(n, "channels")
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		d.errorf(d.pos(n), "channels: list at least one channel (instagram, messenger)")
		return
	}
	cs := []Channel{}
	for _, it := range items {
		s, ok := d.str(it, "channel")
		if !ok {
			continue
		}
		switch {
		case !channelRE.MatchString(s):
			d.errorf(d.pos(it), "channels: %q is not a channel name (like instagram or messenger)", s)
		case slices.ContainsFunc(cs, func(c Channel) bool { return c.Name == s }):
			d.errorf(d.pos(it), "channels: %q is listed twice", s)
		default:
			cs = append(cs, Channel{Name: s, Pos: d.pos(it)})
		}
	}
	d.flow.Channels, d.flow.ChannelsPos = cs, d.pos(n)
}

// checkChannels makes the main flow's `channels` the bundle's; another
// flow declaring channels is an error.
func checkChannels(all []*Flow, b *Bundle, e *errs) {
	for _, f := range all {
		if f.Channels == nil {
			continue
		}
		if f.Name == b.Main || (b.Main == "" && b.Channels == nil) {
			b.Channels = f.Channels
		} else {
			e.errorf(f.ChannelsPos, "channels: only the main flow (%s) declares channels; they apply to the whole bundle", b.Main)
		}
	}
}

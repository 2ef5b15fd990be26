// Package channels is the list of channel adapters dmflow ships and what
// each renders (dmflow.Capabilities): the one table `dmflow validate`
// (a bundle's declared channels, --channels) and flowtest (a transcript's
// channel) check replies against. bot, engine and flows never import it.
package channels

import (
	"maps"
	"slices"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/messenger"
)

var known = map[string]dmflow.Capabilities{
	instagram.Channel: instagram.Capabilities,
	messenger.Channel: messenger.Capabilities,
}

// Capabilities are what the channel named name renders; ok is false for
// a channel dmflow has no adapter for.
func Capabilities(name string) (c dmflow.Capabilities, ok bool) {
	c, ok = known[name]
	return c, ok
}

// Names are the known channels, sorted.
func Names() []string { return slices.Sorted(maps.Keys(known)) }

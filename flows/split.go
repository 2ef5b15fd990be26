package flows

import (
	"crypto/sha256"
	"encoding/binary"
)

// Pick returns the variant a user gets in the split's experiment: the
// SHA-256 of "experiment\x00userID" picks a point in [0, sum of weights),
// and the variants, in declared order, own consecutive ranges as wide as
// their weights. The same user always gets the same variant of the same
// experiment (on every replica, after restarts and in replays); different
// experiments split users independently. Pick returns nil when no variant
// has a weight (a flow that loads always has one).
func (sp *SplitSpec) Pick(userID string) *Variant {
	total := uint64(0)
	for _, v := range sp.Variants {
		total += uint64(max(v.Weight, 0))
	}
	if total == 0 {
		return nil
	}
	sum := sha256.Sum256([]byte(sp.Experiment + "\x00" + userID))
	point := binary.BigEndian.Uint64(sum[:8]) % total
	for _, v := range sp.Variants {
		w := uint64(max(v.Weight, 0))
		if point < w {
			return v
		}
		point -= w
	}
	return nil // unreachable
}

// Variant returns the split's variant with that name, or nil.
func (sp *SplitSpec) Variant(name string) *Variant {
	for _, v := range sp.Variants {
		if v.Name == name {
			return v
		}
	}
	return nil
}

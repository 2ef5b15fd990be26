package metahook

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"

	"github.com/dmflow/dmflow"
)

// DecodeBodies decodes a webhook body: one envelope or, as some of Meta's
// documentation samples show, an array of them.
func DecodeBodies[T any](body []byte) ([]T, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var many []T
		err := json.Unmarshal(trimmed, &many)
		return many, err
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("body is not a JSON object")
	}
	var one T
	if err := json.Unmarshal(trimmed, &one); err != nil {
		return nil, err
	}
	return []T{one}, nil
}

// SortPerUser orders each user's events by platform timestamp (stable),
// keeping the positions the delivery gave each user's events: different
// users' events keep their relative order.
func SortPerUser(events []dmflow.Event) {
	slots := map[dmflow.SessionKey][]int{}
	for i := range events {
		k := events[i].SessionKey()
		slots[k] = append(slots[k], i)
	}
	for _, idx := range slots {
		if len(idx) < 2 {
			continue
		}
		group := make([]dmflow.Event, len(idx))
		for j, i := range idx {
			group[j] = events[i]
		}
		slices.SortStableFunc(group, func(a, b dmflow.Event) int { return a.Time.Compare(b.Time) })
		for j, i := range idx {
			events[i] = group[j]
		}
	}
}

package dmflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// recordV1 is the first byte of every record MarshalRecord writes. A record
// that starts with another byte was written by a newer dmflow (or is garbage)
// and is refused with ErrCorrupt instead of being misread.
const recordV1 = 1

// MarshalRecord encodes a store record (Session, InboxItem, OutboxItem, ...)
// as a version byte followed by JSON. Stores share it so that every backend
// round-trips values identically.
func MarshalRecord(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(recordV1)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("dmflow: encode %T: %w", v, err)
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil // drop the Encoder's newline
}

// UnmarshalRecord decodes a record written by MarshalRecord into v. Numbers
// inside free-form values (session vars, action args, notice data) come back
// as int when integral and float64 otherwise. Any failure wraps ErrCorrupt.
func UnmarshalRecord(b []byte, v any) error {
	if len(b) == 0 {
		return fmt.Errorf("dmflow: decode %T: empty record: %w", v, ErrCorrupt)
	}
	if b[0] != recordV1 {
		return fmt.Errorf("dmflow: decode %T: unknown record version %d: %w", v, b[0], ErrCorrupt)
	}
	dec := json.NewDecoder(bytes.NewReader(b[1:]))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("dmflow: decode %T: %v: %w", v, err, ErrCorrupt)
	}
	if n, ok := v.(interface{ normalizeNumbers() }); ok {
		n.normalizeNumbers()
	}
	return nil
}

// NormalizeValue converts json.Number values inside v (recursively through
// maps and slices) to int when integral and in range, float64 otherwise.
func NormalizeValue(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil && i >= math.MinInt && i <= math.MaxInt {
			return int(i)
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = NormalizeValue(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = NormalizeValue(e)
		}
		return v
	default:
		return v
	}
}

func normalizeMap(m map[string]any) {
	for k, v := range m {
		m[k] = NormalizeValue(v)
	}
}

func (s *Session) normalizeNumbers() {
	normalizeMap(s.Vars)
	for i := range s.Stack {
		normalizeMap(s.Stack[i].Vars)
	}
	if s.Pending != nil {
		s.Pending.normalizeNumbers()
	}
}

func (a *ActionCall) normalizeNumbers() { normalizeMap(a.Args) }
func (a *ActionItem) normalizeNumbers() { a.Call.normalizeNumbers() }
func (n *Notice) normalizeNumbers()     { normalizeMap(n.Data) }

func (o *OutboxItem) normalizeNumbers() {
	if o.Notice != nil {
		o.Notice.normalizeNumbers()
	}
}

func (d *DeadLetter) normalizeNumbers() { d.Item.normalizeNumbers() }

package metahook

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// FlexString decodes a JSON string or number as a string, so ids survive
// whichever type the platform (or its dashboard test tool) chose.
type FlexString string

// UnmarshalJSON implements json.Unmarshaler.
func (s *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	// Fast paths (one allocation, no second decoder) for what the platform
	// sends: the decoder hands an Unmarshaler only a valid JSON value, so a
	// quoted string without escapes in valid UTF-8 is its own content,
	// and a value starting with '-' or a digit is a number, whose text is
	// what json.Number would hold.
	if len(b) >= 2 && b[0] == '"' && bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
		*s = FlexString(b[1 : len(b)-1])
		return nil
	}
	if len(b) > 0 && (b[0] == '-' || '0' <= b[0] && b[0] <= '9') {
		*s = FlexString(b)
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = FlexString(v)
		return nil
	}
	if string(b) == "null" {
		*s = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*s = FlexString(n.String())
	return nil
}

// FlexInt decodes a JSON number, or a string holding one.
type FlexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *FlexInt) UnmarshalJSON(b []byte) error {
	var s FlexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*n = 0
		return nil
	}
	if i, err := strconv.ParseInt(string(s), 10, 64); err == nil {
		*n = FlexInt(i)
		return nil
	}
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return err
	}
	*n = FlexInt(f)
	return nil
}

// String renders n for keys: the raw value, never reformatted, so the same
// delivery always yields the same key.
func (n FlexInt) String() string { return strconv.FormatInt(int64(n), 10) }

// msThreshold separates second timestamps from millisecond ones: 1e11 ms
// is 1973, 1e11 s is year 5138. Real deliveries use milliseconds; the
// dashboard's test tool and some documented samples use seconds.
const msThreshold = 100_000_000_000

// Time converts a platform timestamp (ms, or s when small) to UTC; zero
// for n <= 0.
func (n FlexInt) Time() time.Time {
	switch {
	case n <= 0:
		return time.Time{}
	case n < msThreshold:
		return time.Unix(int64(n), 0).UTC()
	}
	return time.UnixMilli(int64(n)).UTC()
}

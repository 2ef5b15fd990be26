package instagram

import (
	"encoding/json"
	"testing"
)

// slowFlexString is flexString's decoding without the fast paths.
func slowFlexString(b []byte) (string, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case nil:
		return "", nil
	}
	var n json.Number
	err := json.Unmarshal(b, &n)
	return n.String(), err
}

// TestFlexStringFastPaths: the fast paths decode every value exactly as
// encoding/json does.
func TestFlexStringFastPaths(t *testing.T) {
	for _, in := range []string{`"17841400000000001"`, `"héllo 🙂"`, `"a\"b"`, `"\u00e9\n"`, "\"\xff\xfe\"", `""`,
		`17841400000000001`, `-12`, `1.5e3`, `0`, `null`, ` "x" `, `true`, `{}`} {
		var got flexString
		gerr := json.Unmarshal([]byte(`[`+in+`]`), &[]*flexString{&got})
		want, werr := slowFlexString([]byte(in))
		if (gerr != nil) != (werr != nil) || gerr == nil && string(got) != want {
			t.Errorf("%s: got %q, %v; want %q, %v", in, got, gerr, want, werr)
		}
	}
}

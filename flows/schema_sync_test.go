package flows

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/dmflow/dmflow/internal/schemacheck"
)

// TestSchemaKeysMatchLoader keeps flows/schema in sync with the loader:
// every mapping the loader decodes with a fixed key list has exactly those
// properties in the JSON Schema. A key added to the loader and forgotten in
// flows/schema/flow.schema.json (or the reverse) fails here.
func TestSchemaKeysMatchLoader(t *testing.T) {
	raw, err := schemacheck.Raw("flow")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string // slash-separated walk from the schema's root; "oneOf/N" picks a branch
		keys []string
	}{
		{"", flowKeys},
		{"definitions/state", stateKeys},
		{"definitions/var/oneOf/1", varKeys},
		{"definitions/trigger", trigKeys},
		{"definitions/on", onKeys},
		{"definitions/ask", askKeys},
		{"definitions/timeout", tmoKeys},
		{"definitions/state/properties/handoff/oneOf/1", hoKeys},
		{"definitions/call", callKeys},
		{"definitions/action", actKeys},
		{"definitions/action/properties/http", httpKeys},
		{"definitions/reply", replyKeys},
		{"definitions/quickReply/oneOf/1", qrKeys},
		{"definitions/card", cardKeys},
		{"definitions/button", buttonKeys},
		{"definitions/reply/properties/buttons", btnTmplKeys},
		{"definitions/media", mediaKeys},
		{"definitions/locales", localesKeys},
	} {
		node := walk(t, raw, tc.path)
		props, _ := node["properties"].(map[string]any)
		var got []string
		for k := range props {
			got = append(got, k)
		}
		want := slices.Clone(tc.keys)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("schema %q has properties %v; the loader accepts %v", "#/"+tc.path, got, want)
		}
		if node["additionalProperties"] != false {
			t.Errorf("schema %q allows additional properties; the loader refuses unknown keys", "#/"+tc.path)
		}
	}
}

func walk(t *testing.T, v map[string]any, path string) map[string]any {
	t.Helper()
	if path == "" {
		return v
	}
	var cur any = v
	for _, p := range strings.Split(path, "/") {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i := int(p[0] - '0')
			if i >= len(c) {
				t.Fatalf("schema path %s: no branch %s", path, p)
			}
			cur = c[i]
		}
	}
	m, ok := cur.(map[string]any)
	if !ok {
		t.Fatalf("schema path %s is not an object", path)
	}
	return m
}

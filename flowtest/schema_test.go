package flowtest

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/dmflow/dmflow/internal/schemacheck"
)

// TestTranscriptSchemaKeysMatchParser keeps the transcript schema in sync
// with the transcript parser: each mapping has exactly the keys the parser
// accepts, and no others.
func TestTranscriptSchemaKeysMatchParser(t *testing.T) {
	raw, err := schemacheck.Raw("transcript")
	if err != nil {
		t.Fatal(err)
	}
	defs := raw["definitions"].(map[string]any)
	obj := func(v any, path ...string) map[string]any {
		for _, p := range path {
			switch c := v.(type) {
			case map[string]any:
				v = c[p]
			case []any:
				v = c[int(p[0]-'0')]
			}
		}
		m, _ := v.(map[string]any)
		return m
	}
	stepKeys := append(append([]string{"as", "profile"}, inputKeys...), expectKeys...)
	for _, tc := range []struct {
		name string
		node map[string]any
		keys []string
	}{
		{"transcript", raw, transcriptKeys},
		{"profile", obj(defs, "profile"), profileKeys},
		{"start", obj(raw, "properties", "start"), []string{"state", "vars"}},
		{"step", obj(defs, "step"), stepKeys},
		{"reply", obj(defs, "reply", "oneOf", "1"), replyKeys},
		{"chip", obj(defs, "chip", "oneOf", "1"), []string{"title", "payload", "type", "url"}},
		{"card", obj(defs, "card", "oneOf", "1"), []string{"title", "subtitle", "image", "url", "buttons"}},
		{"media", obj(defs, "media"), []string{"type", "url", "attachment_id"}},
		{"action", obj(defs, "step", "properties", "actions", "items"), []string{"name", "kind", "method", "url", "url_matches", "body"}},
		{"mock", obj(defs, "mock", "then"), []string{"outcome", "status", "body", "error"}},
	} {
		if tc.node == nil {
			t.Errorf("%s: not found in the transcript schema", tc.name)
			continue
		}
		var got []string
		for k := range tc.node["properties"].(map[string]any) {
			got = append(got, k)
		}
		want := slices.Clone(tc.keys)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: schema properties %v; the parser accepts %v", tc.name, got, want)
		}
		if tc.node["additionalProperties"] != false {
			t.Errorf("%s: the schema allows additional properties; the parser refuses unknown keys", tc.name)
		}
	}
}

// TestTranscriptSchemaRejectsWhatParserRejects: every document has a key
// the transcript parser refuses, and the schema refuses it too.
func TestTranscriptSchemaRejectsWhatParserRejects(t *testing.T) {
	sch, err := schemacheck.Compile("transcript")
	if err != nil {
		t.Fatal(err)
	}
	good := `name: good
clock: 2025-01-06T09:00:00Z
profile: {username: ann}
mock: {lookup: {status: shipped}, slow: {outcome: timeout}}
steps:
  - user: hi
    bot: ["Hello", {text_matches: "(?i)pick", quick_replies: [Yes, {title: No}]}]
  - as: bob
    payload: {payload: YES, text: "Yes"}
    actions: [{name: lookup}]
  - advance: 25h
    state: followup
    vars: {n: 1}
`
	for _, tc := range []struct{ name, doc string }{
		{"good", good},
		{"root", "steps: [{user: hi}]\ncolour: red\n"},
		{"step", "steps: [{user: hi, expect: x}]\n"},
		{"reply", "steps: [{user: hi, bot: [{text: x, colour: red}]}]\n"},
		{"chip", "steps: [{user: hi, bot: [{quick_replies: [{title: x, colour: red}]}]}]\n"},
		{"card", "steps: [{user: hi, bot: [{cards: [{title: x, price: 1}]}]}]\n"},
		{"media", "steps: [{user: hi, bot: [{media: {type: image, alt: x}}]}]\n"},
		{"action", "steps: [{user: hi, actions: [{name: x, retries: 1}]}]\n"},
		{"profile", "profile: {username: a, age: 3}\nsteps: [{user: hi}]\n"},
		{"start", "start: {state: a, session: {}}\nsteps: [{user: hi}]\n"},
		{"mock", "mock: {x: {outcome: ok, delay: 1s}}\nsteps: [{user: hi}]\n"},
		{"attachment", "steps: [{attachment: {type: image, size: 3}}]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, parseErr := parseTranscripts("bad.test.yaml", []byte(tc.doc))
			schemaErr := schemacheck.Validate(sch, []byte(tc.doc))
			if tc.name == "good" {
				if parseErr != nil || schemaErr != nil {
					t.Fatalf("good transcript: parser %v, schema %v", parseErr, schemaErr)
				}
				return
			}
			if parseErr == nil || !strings.Contains(parseErr.Error(), "unknown") {
				t.Fatalf("the parser should refuse an unknown key, got %v", parseErr)
			}
			if schemaErr == nil {
				t.Fatalf("the schema accepts what the parser refuses (%v)", parseErr)
			}
		})
	}
}

// TestParsedTranscriptsMatchSchema: every transcript of this package's and
// the command's test data that the parser accepts matches the schema too (the examples are
// checked in flows/schema), so the schema never flags a valid file.
func TestParsedTranscriptsMatchSchema(t *testing.T) {
	sch, err := schemacheck.Compile("transcript")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, pat := range []string{"testdata/*/*.test.yaml", "testdata/*/*/*.test.yaml", "../cli/testdata/*/*/*.test.yaml"} {
		more, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, more...)
	}
	n := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseTranscripts(f, src); err != nil {
			continue // a deliberately broken transcript
		}
		n++
		if err := schemacheck.Validate(sch, src); err != nil {
			t.Errorf("%s parses but does not match the schema:\n%v", f, err)
		}
	}
	if n == 0 {
		t.Fatal("no transcript found in testdata")
	}
}

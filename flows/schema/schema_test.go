package schema_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/flows/schema"
	"github.com/dmflow/dmflow/internal/schemacheck"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

func compile(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	s, err := schemacheck.Compile(name)
	if err != nil {
		t.Fatalf("%s schema does not compile against draft-07: %v", name, err)
	}
	return s
}

// TestExamplesMatchSchema validates every flow file and every transcript
// under examples/ (and the flows' own accepted test data) against the
// schemas, as yaml-language-server would in an editor.
func TestExamplesMatchSchema(t *testing.T) {
	flowSchema, testSchema := compile(t, "flow"), compile(t, "transcript")
	n := map[string]int{}
	for _, root := range []string{"../../examples", "../testdata/golden"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			kind, sch := "flow", flowSchema
			if strings.HasSuffix(path, ".test.yaml") {
				kind, sch = "transcript", testSchema
			} else if _, err := flows.ParseAll(path, src, nil); err != nil {
				return nil // not a loadable flow (a golden error case): the bad-document test covers those
			}
			docs, err := schemacheck.Docs(src)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				return nil
			}
			for i, doc := range docs {
				if err := sch.Validate(doc); err != nil {
					t.Errorf("%s (document %d) does not match the %s schema:\n%v", path, i+1, kind, err)
				}
			}
			n[kind]++
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if n["flow"] < 5 || n["transcript"] < 5 {
		t.Fatalf("checked %d flows and %d transcripts; the examples have more", n["flow"], n["transcript"])
	}
}

// TestSchemaRejectsWhatLoaderRejects: each document has a key the loader
// refuses; the schema must refuse it too (an editor marks what
// `dmflow validate` would report). The good document passes both.
func TestSchemaRejectsWhatLoaderRejects(t *testing.T) {
	sch := compile(t, "flow")
	const head = "flow: f\nstart: a\nvars: {s: string}\n"
	good := head + `states:
  a:
    say: [{text: hi, quick_replies: [Yes, {title: No, payload: NO}]}]
    ask: {var: s, type: text, retry: [{text: again}], max_attempts: 2, on_fail: b}
    on: [{keywords: [x], goto: b}]
    timeout: {after: 1h, goto: b}
  b:
    action: {http: {url: "https://example.com/x", method: post}, save: {s: string(response.status)}, next: c}
  c:
    call: {flow: f, return: a}
`
	for _, tc := range []struct{ name, doc string }{
		{"good", good},
		{"root", head + "states: {a: {end: true}}\nbogus: 1\n"},
		{"state", head + "states: {a: {end: true, sayy: []}}\n"},
		{"reply", head + "states: {a: {say: [{text: hi, colour: red}], end: true}}\n"},
		{"quick reply", head + "states: {a: {say: [{text: hi, quick_replies: [{title: x, url: y}]}], end: true}}\n"},
		{"card", head + "states: {a: {say: [{cards: [{title: x, price: 3}]}], end: true}}\n"},
		{"button", head + "states: {a: {say: [{buttons: {text: t, buttons: [{title: x, payload: P, color: red}]}}], end: true}}\n"},
		{"buttons reply", head + "states: {a: {say: [{buttons: {text: t, buttons: [{title: x, payload: P}], extra: 1}}], end: true}}\n"},
		{"media", head + "states: {a: {say: [{media: {type: image, url: u, alt: x}}], end: true}}\n"},
		{"ask", head + "states: {a: {ask: {var: s, prompt: x}, on: [{goto: a}]}}\n"},
		{"on", head + "states: {a: {on: [{when: 'true', goto: a, handoff: true}]}}\n"},
		{"trigger", head + "triggers: [{keywords: [x], goto: a, priority: 1}]\nstates: {a: {end: true}}\n"},
		{"timeout", head + "states: {a: {timeout: {after: 1h, goto: a, every: 2h}, on: [{goto: a}]}}\n"},
		{"handoff", head + "states: {a: {handoff: {reason: x, queue: y}}}\n"},
		{"call", head + "states: {a: {call: {flow: f, return: a, with: {}}}}\n"},
		{"action", head + "states: {a: {action: {go: g, next: a, cache: true}}}\n"},
		{"http", head + "states: {a: {action: {http: {url: 'https://x.example', query: {}}, next: a}}}\n"},
		{"variable", "flow: f\nstart: a\nvars: {s: {type: string, min: 0}}\nstates: {a: {end: true}}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, loadErr := flows.ParseAll("bad.yaml", []byte(tc.doc), nil)
			schemaErr := schemacheck.Validate(sch, []byte(tc.doc))
			if tc.name == "good" {
				if loadErr != nil || schemaErr != nil {
					t.Fatalf("good document: loader %v, schema %v", loadErr, schemaErr)
				}
				return
			}
			if loadErr == nil || !strings.Contains(loadErr.Error(), "unknown key") {
				t.Fatalf("the loader should refuse an unknown key, got %v", loadErr)
			}
			if schemaErr == nil {
				t.Fatalf("the schema accepts what the loader refuses (%v)", loadErr)
			}
		})
	}
}

// TestGet: the schemas are reachable by name and are JSON documents of
// draft-07.
func TestGet(t *testing.T) {
	for _, name := range schema.Names() {
		b, err := schema.Get(name)
		if err != nil || !strings.Contains(string(b), "draft-07") {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := schema.Get("nope"); err == nil {
		t.Fatal("unknown schema: want an error")
	}
}

// TestLocalizedTextsMatchSchema: localized texts (every kind, the short
// quick-reply form included) and `locales` pass the schema; a locale key
// that is not a locale and a locales block without var fail it, as they
// fail the loader.
func TestLocalizedTextsMatchSchema(t *testing.T) {
	sch := compile(t, "flow")
	src, err := os.ReadFile("../testdata/ok/locales.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := schemacheck.Validate(sch, src); err != nil {
		t.Fatalf("testdata/ok/locales.yaml: %v", err)
	}
	const head = "flow: f\nstart: a\nvars: {lang: string}\n"
	for _, bad := range []string{
		head + "locales: {default: en, supported: [en]}\nstates: {a: {say: [{text: hi}], end: true}}\n",
		head + "locales: {default: en, supported: [en], var: lang}\nstates: {a: {say: [{text: {title: hi}}], end: true}}\n",
		head + "locales: {default: en, supported: [en], var: lang}\nstates: {a: {say: [{text: {}}], end: true}}\n",
	} {
		if _, err := flows.ParseAll("bad.yaml", []byte(bad), nil); err == nil {
			t.Errorf("the loader accepts:\n%s", bad)
		}
		if err := schemacheck.Validate(sch, []byte(bad)); err == nil {
			t.Errorf("the schema accepts:\n%s", bad)
		}
	}
}

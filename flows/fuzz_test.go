package flows_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dmflow/dmflow/flows"
)

func seed(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
}

// FuzzParse: parsing never panics and every diagnostic has a position.
func FuzzParse(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		_, err := flows.ParseAll("f.yaml", src, nil)
		if err == nil {
			return
		}
		var list flows.ErrorList
		if !errors.As(err, &list) {
			t.Fatalf("error is not an ErrorList: %v", err)
		}
		for _, e := range list {
			if e.Pos.File != "f.yaml" || e.Pos.Line < 1 || e.Pos.Col < 1 || e.Msg == "" {
				t.Fatalf("diagnostic without position: %#v", e)
			}
		}
	})
}

// FuzzTemplate: any reply text either fails to load with positions or
// renders without panicking.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"hi", "{{ name }}", "{{ 1 + }}", "{{", "}}{{x}}", "{{ tags + ['a'] }}", "{{ m.a.b }}", "{{ now.Year() / 0 }}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := parseText(t, s)
		if err != nil {
			return
		}
		if tpl != nil {
			_, _ = tpl.Render(env())
		}
	})
}

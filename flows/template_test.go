package flows_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow/flows"
)

// parseText loads a one-state flow whose reply text is src and returns its template.
func parseText(t testing.TB, src string) (*flows.Template, error) {
	t.Helper()
	y := "flow: t\nstart: a\nvars: {name: string, n: int, f: float, tags: \"[]string\", when: time, x: any, m: map}\n" +
		"states:\n  a:\n    say:\n      - text: " + quote(src) + "\n    end: true\n"
	fl, err := flows.Parse("t.yaml", []byte(y), nil)
	if err != nil {
		return nil, err
	}
	return fl.States["a"].Say[0].Text, nil
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func env() map[string]any {
	return map[string]any{
		"event": flows.EventEnv{Kind: "message", Text: "Hello World"},
		"user":  flows.UserEnv{Username: "ana"},
		"now":   time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC),
		"name":  "bob", "n": 3, "f": 2.5, "tags": []any{"a", "b"},
		"when": time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), "x": nil, "m": map[string]any{"k": 1.0},
	}
}

func TestTemplateRender(t *testing.T) {
	tests := []struct{ src, want string }{
		{"plain text", "plain text"},
		{"Hi {{ name }}!", "Hi bob!"},
		{"{{name}}{{name}}", "bobbob"},
		{"{{ n + 1 }} / {{ f }} / {{ n / 2 }}", "4 / 2.5 / 1.5"},
		{"{{ 1.0 * 2 }}", "2"},
		{"{{ x }}|{{ m.missing }}", "|"},
		{"{{ tags }}", "a, b"},
		{"{{ tags + ['c'] }}", "a, b, c"},
		{"{{ when }}", "2024-01-02T00:00:00Z"},
		{"{{ true }} {{ n > 5 }}", "true false"},
		{"{{ user.username ?? 'there' }}", "ana"},
		{"{{ upper(event.text) }}", "HELLO WORLD"},
		{"{{ title('ana maria') }}", "Ana Maria"},
		{"{{ format_time(now, '2006-01-02 15:04') }}", "2025-03-04 05:06"},
		{"{{ now + days(2) }}", "2025-03-06T05:06:07Z"},
		{"{{ digits('+1 (555) 010-99') }}", "155501099"},
		{"{{ words('Hi, THERE you') }}", "hi, there, you"},
		{"{{ has_word(event.text, 'world') }}", "true"},
		{"{{ is_email('a@b.co') }} {{ is_email('nope') }}", "true false"},
		{"{{ is_phone('+1 555 010 9999') }} {{ is_phone('12') }}", "true false"},
		{"{{ is_url('https://x.io/a') }} {{ is_url('x.io') }}", "true false"},
		{"{{ default(x, 'none') }} {{ default(name, 'none') }}", "none bob"},
		{"{{ truncate('abcdef', 4) }}", "abc…"},
		{"{{ '{{' }}", "{{"},
		{"emoji 🙂 {{ name }}", "emoji 🙂 bob"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tpl, err := parseText(t, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Render(env())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Render = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"Hi {{ name", "t.yaml:7:19: unclosed {{ in text"},
		{"{{ }}", "t.yaml:7:18: empty expression"},
		{"ab {{ name + n }}", "t.yaml:7:27: invalid operation: + (mismatched types string and int)"},
		{"{{ now() }}", "t.yaml:7:19: time.Time is not callable"},
		{"{{ input }}", "t.yaml:7:19: unknown name input"},
		{"{{ response.status }}", "t.yaml:7:19: unknown name response"},
		{"{{ is_email(1) }}", "t.yaml:7:28: cannot use int as argument (type string) to call is_email "},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := parseText(t, tt.src)
			var list flows.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("err = %v, want an ErrorList", err)
			}
			if got := list.Errors(); len(got) != 1 || got[0].Error() != tt.want {
				t.Errorf("errors = %v, want %q", got, tt.want)
			}
		})
	}
}

func TestRenderRuntimeError(t *testing.T) {
	tpl, err := parseText(t, "{{ m.k.deeper }}")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Render(env())
	if err == nil || !strings.HasPrefix(err.Error(), "t.yaml:7:") {
		t.Fatalf("err = %v, want a positioned error", err)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, ""}, {"s", "s"}, {3, "3"}, {2.50, "2.5"}, {1e21, "1000000000000000000000"}, {float32(0.5), "0.5"},
		{true, "true"}, {[]string{"a", "b"}, "a, b"}, {[]any{1, "x", nil}, "1, x, "},
		{time.Hour, "1h0m0s"}, {map[string]any{"a": 1}, "map[a:1]"},
	}
	for _, tt := range tests {
		if got := flows.Format(tt.in); got != tt.want {
			t.Errorf("Format(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

package flows_test

import (
	"testing"

	"github.com/dmflow/dmflow/flows"
)

// TestLocalesMatch: the user's value is compared with the supported locales
// only: exact (case-insensitive, _ as -), then the same language, else the
// default.
func TestLocalesMatch(t *testing.T) {
	l := &flows.Locales{Default: "en", Supported: []string{"en", "es", "pt-BR", "zh-Hant"}}
	for _, tt := range []struct{ in, want string }{
		{"", "en"},
		{"  ", "en"},
		{"es", "es"},
		{"ES", "es"},
		{"es-MX", "es"},
		{"es_MX", "es"},
		{"pt", "pt-BR"},
		{"pt-br", "pt-BR"},
		{"pt_BR", "pt-BR"},
		{"pt-PT", "pt-BR"},
		{"zh-TW", "zh-Hant"},
		{"fr", "en"},
		{"e", "en"},
		{"-", "en"},
		{"{{ user.id }}", "en"},
		{"es\n", "es"},
	} {
		if got := l.Match(tt.in); got != tt.want {
			t.Errorf("Match(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := (*flows.Locales)(nil).Match("es"); got != "" {
		t.Errorf("nil Locales: Match = %q", got)
	}
}

// TestLocalized checks what the loader builds: the bundle's locales, the
// versions of a localized text in file order, In's fallback, and payloads
// of localized chips derived from the default locale's title (not the
// first written).
func TestLocalized(t *testing.T) {
	b, err := flows.Load("testdata/ok/locales.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := b.Locales
	if l == nil || l.Default != "en" || l.Var != "lang" || len(l.Supported) != 2 || l.Supported[0] != "es" {
		t.Fatalf("bundle locales = %+v", l)
	}
	r := b.Flows["shop"].States["hello"].Say[0]
	for _, tt := range []struct{ locale, want string }{
		{"en", "Hi {{ user.username ?? 'there' }}!"},
		{"es", "¡Hola {{ user.username ?? 'there' }}!"},
		{"fr", "Hi {{ user.username ?? 'there' }}!"}, // not supported: the default's
	} {
		if got := r.Text.In(tt.locale, l.Default).Src; got != tt.want {
			t.Errorf("In(%s) = %q, want %q", tt.locale, got, tt.want)
		}
	}
	if got := r.Text.In("fr", "de").Src; got != "Hi {{ user.username ?? 'there' }}!" {
		t.Errorf("In without either: %q, want the first version", got)
	}
	var payloads []string
	for _, q := range r.QuickReplies {
		payloads = append(payloads, q.Payload)
	}
	if want := []string{"PRICES", "TALK", ""}; len(payloads) != 3 || payloads[0] != want[0] || payloads[1] != want[1] {
		t.Errorf("payloads = %q, want %q (the last from an emoji)", payloads, want)
	}
	plain := r.QuickReplies[2].Title
	if plain.In("es", "en") != plain {
		t.Error("In of a plain text is not the text itself")
	}
}

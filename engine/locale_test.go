package engine_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dmflow/dmflow"
)

const localeMain = `
flow: shop
main: true
start: hello
vars:
  lang: string
  name: string
locales: {default: en, supported: [en, es, pt-BR], var: lang}
triggers:
  - keywords: [español]
    set: {lang: '"es"'}
    say: [{text: {en: "Switched to English ({{ user.locale }})", es: "Cambiado a español ({{ user.locale }})", pt-BR: "Português ({{ user.locale }})"}}]
    goto: hello
  - keywords: [help]
    goto: help
states:
  hello:
    say:
      - text: {en: "Hi {{ name }}", es: "Hola {{ name }}", pt-BR: "Olá {{ name }}"}
        quick_replies:
          - {en: Prices, es: Precios, pt-BR: Preços}
          - {title: {en: Talk to us, es: Hablar, pt-BR: Falar}, payload: TALK}
      - when: 'user.locale == "es"'
        text: "solo en español"
    ask: {var: name, type: text}
    next: hello
  help:
    say:
      - cards:
          - title: {en: Shoes, es: Zapatos, pt-BR: Sapatos}
            subtitle: {en: Comfy, es: Cómodos, pt-BR: Confortáveis}
            buttons: [{title: {en: Buy, es: Comprar, pt-BR: Comprar}, payload: BUY}]
      - buttons:
          text: {en: Pick one, es: Elige, pt-BR: Escolha}
          buttons: [{title: {en: Yes, es: Sí, pt-BR: Sim}, payload: YES}]
    call: {flow: faq, return: hello}
`

const localeSub = `
flow: faq
start: q
states:
  q:
    say: [{text: {en: "FAQ in {{ user.locale }}", es: "Preguntas en {{ user.locale }}", pt-BR: "Perguntas em {{ user.locale }}"}}]
    on: [{goto: done}]
  done:
    return: true
`

// TestLocaleSelection checks which version of a localized text renders for
// the value of the locale variable: exact (case-insensitive, _ as -), same
// language, else the default; a value that looks like a template or an
// expression only fails to match (it selects nothing by itself).
func TestLocaleSelection(t *testing.T) {
	e := load(t, localeMain, localeSub)
	tests := []struct {
		lang   any // the variable's stored value (nil: unset)
		locale string
		hello  string
	}{
		{nil, "en", "Hi"},
		{"", "en", "Hi"},
		{"en", "en", "Hi"},
		{"es", "es", "Hola"},
		{"ES", "es", "Hola"},
		{"es_MX", "es", "Hola"},
		{" es-AR ", "es", "Hola"},
		{"pt", "pt-BR", "Olá"},
		{"pt_br", "pt-BR", "Olá"},
		{"fr", "en", "Hi"},
		{"{{ name }}", "en", "Hi"},
		{`hello.say[0].text.es`, "en", "Hi"},
		{42, "en", "Hi"},
	}
	for _, tt := range tests {
		s := &dmflow.Session{Key: dmflow.SessionKey{Account: "acct", User: "user1"}, Flow: "shop", State: "hello",
			Vars: map[string]any{"name": "Ana"}, Version: 1}
		if tt.lang != nil {
			s.Vars["lang"] = tt.lang
		}
		if got := e.Locale(s); got != tt.locale {
			t.Errorf("Locale(lang=%v) = %q, want %q", tt.lang, got, tt.locale)
		}
		c := newConv(t, e)
		c.s = s
		turn := c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "Ana"})
		if got := texts(turn); len(got) == 0 || got[0] != tt.hello+" Ana" {
			t.Errorf("lang=%v: replies %q, want first %q", tt.lang, got, tt.hello+" Ana")
		}
	}
}

// TestLocaleRender checks every localized kind (text, quick-reply titles,
// cards, buttons), that payloads do not depend on the locale (derived from
// the default locale's title), that user input inserted into a localized
// text stays data, and that setting the variable switches the language in
// the same step, user.locale included.
func TestLocaleRender(t *testing.T) {
	e := load(t, localeMain, localeSub)
	c := newConv(t, e)
	turn := c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "hi"})
	eq(t, "first", texts(turn), []string{"Hi "})
	eq(t, "chips", turn.Replies[0].Reply.QuickReplies, []dmflow.QuickReply{
		{Type: "text", Title: "Prices", Payload: "PRICES"}, {Type: "text", Title: "Talk to us", Payload: "TALK"}})

	turn = c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "{{ user.id }} {{ lang }}"})
	eq(t, "input is data", texts(turn), []string{"Hi {{ user.id }} {{ lang }}"})

	turn = c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "Español"})
	eq(t, "switch", texts(turn), []string{"Cambiado a español (es)", "Hola {{ user.id }} {{ lang }}", "solo en español"})
	eq(t, "chips es", turn.Replies[1].Reply.QuickReplies, []dmflow.QuickReply{
		{Type: "text", Title: "Precios", Payload: "PRICES"}, {Type: "text", Title: "Hablar", Payload: "TALK"}})
	eq(t, "stored", c.s.Vars["lang"], "es")

	turn = c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "help"})
	if len(turn.Replies) != 3 {
		t.Fatalf("help: replies %q", texts(turn))
	}
	card := turn.Replies[0].Reply.Elements[0]
	eq(t, "card", []string{card.Title, card.Subtitle, card.Buttons[0].Title}, []string{"Zapatos", "Cómodos", "Comprar"})
	btn := turn.Replies[1].Reply
	eq(t, "buttons", []string{btn.Text, btn.Buttons[0].Title, btn.Buttons[0].Payload}, []string{"Elige", "Sí", "YES"})
	// The sub-flow has no lang of its own: the locale is the main flow's.
	eq(t, "sub-flow", turn.Replies[2].Reply.Text, "Preguntas en es")
	eq(t, "in sub-flow", c.s.Flow, "faq")
	eq(t, "sub-flow locale", e.Locale(c.s), "es")

	// The locale is the main flow's variable, never a sub-flow's namesake.
	for _, tt := range []struct {
		name string
		s    dmflow.Session
		want string
	}{
		{"scoped frame", dmflow.Session{Flow: "faq", Vars: map[string]any{"lang": "en"},
			Stack: []dmflow.Frame{{Flow: "shop", State: "help", Scoped: true, Vars: map[string]any{"lang": "pt"}}}}, "pt-BR"},
		{"frame stored before scopes", dmflow.Session{Flow: "faq", Vars: map[string]any{"lang": "es"},
			Stack: []dmflow.Frame{{Flow: "shop", State: "help"}}}, "es"},
		{"started in the sub-flow", dmflow.Session{Flow: "faq", Vars: map[string]any{"lang": "es"}}, "en"},
	} {
		if got := e.Locale(&tt.s); got != tt.want {
			t.Errorf("%s: Locale = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestLocaleDefaultVar: an unset variable uses its declared default before
// the bundle's default locale.
func TestLocaleDefaultVar(t *testing.T) {
	e := load(t, `
flow: f
start: a
vars: {lang: {type: string, default: es}}
locales: {default: en, supported: [en, es], var: lang}
states:
  a:
    say: [{text: {en: Hi, es: Hola}}]
    on: [{keywords: [en], set: {lang: '"en"'}, goto: a}]
`)
	c := newConv(t, e)
	eq(t, "default var", texts(c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "x"})), []string{"Hola"})
	eq(t, "set", texts(c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "en"})), []string{"Hi"})
	if e2 := load(t, "flow: g\nstart: a\nstates:\n  a: {say: [{text: hi}], end: true}\n"); e2.Locale(c.s) != "" {
		t.Errorf("a bundle without locales has locale %q", e2.Locale(c.s))
	}
}

// TestAdminLocale: the admin locale command (the studio's locale control)
// sets the main flow's locale variable to a supported locale, says
// nothing, and the next replies render in it; an unsupported locale, a
// bundle without locales and a session inside a sub-flow are refused.
func TestAdminLocale(t *testing.T) {
	e := load(t, localeMain, localeSub)
	c := newConv(t, e)
	c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "hi"})
	setLocale := func(l string) (*dmflow.Turn, error) {
		return c.try(dmflow.Event{Kind: dmflow.KindAdmin, Admin: &dmflow.AdminCommand{Op: dmflow.AdminLocale, Locale: l}})
	}
	turn, err := setLocale("pt-BR")
	if err != nil || len(turn.Replies) != 0 {
		t.Fatalf("admin locale pt-BR: %v, replies %q", err, texts(turn))
	}
	eq(t, "stored", c.s.Vars["lang"], "pt-BR")
	eq(t, "state kept", c.s.State, "hello")
	eq(t, "next reply", texts(c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "Ana"})), []string{"Olá Ana"})

	for _, bad := range []string{"fr", "", "{{ user.id }}"} {
		if _, err := setLocale(bad); !errors.Is(err, dmflow.ErrInvalid) {
			t.Errorf("admin locale %q: %v, want ErrInvalid", bad, err)
		}
	}
	c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "help"}) // into the faq sub-flow
	if _, err := setLocale("es"); !errors.Is(err, dmflow.ErrInvalid) || !strings.Contains(err.Error(), "sub-flow faq") {
		t.Errorf("admin locale in a sub-flow: %v", err)
	}

	plain := newConv(t, load(t, "flow: x\nmain: true\nstart: a\nstates:\n  a: {say: [{text: hi}], end: true}\n"))
	plain.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "hi"})
	if _, err := plain.try(dmflow.Event{Kind: dmflow.KindAdmin, Admin: &dmflow.AdminCommand{Op: dmflow.AdminLocale, Locale: "en"}}); !errors.Is(err, dmflow.ErrInvalid) {
		t.Errorf("admin locale without locales: %v", err)
	}
}

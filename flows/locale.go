package flows

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/dmflow/dmflow"

	"gopkg.in/yaml.v3"
)

// localeRE is what a locale looks like: a language (ISO 639, 2–3 lower-case
// letters) and an optional region or script subtag (en, es, pt-BR, zh-Hant).
var localeRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)

var localesKeys = []string{"default", "supported", "var"}

// Supports returns nil when want is one of l's supported locales, and an
// error wrapping dmflow.ErrInvalid otherwise (also when l is nil: the flows
// declare no locales). It is the check of a locale set from outside the
// flow (an operator's admin command, the studio's locale control).
func (l *Locales) Supports(want string) error {
	switch {
	case l == nil:
		return fmt.Errorf("the flows declare no locales: %w", dmflow.ErrInvalid)
	case !slices.Contains(l.Supported, want):
		return fmt.Errorf("%q: want one of %s: %w", want, strings.Join(l.Supported, ", "), dmflow.ErrInvalid)
	}
	return nil
}

// Match returns the supported locale to use for a user whose locale
// variable holds want: the same locale (case-insensitive, "_" counts as
// "-"), else a supported locale of the same language ("es-MX" → "es",
// "pt" → "pt-BR"), else Default. want is only compared with Supported: a
// value the user typed never names a text or a template.
func (l *Locales) Match(want string) string {
	if l == nil {
		return ""
	}
	want = strings.ReplaceAll(strings.TrimSpace(want), "_", "-")
	if want == "" {
		return l.Default
	}
	for _, s := range l.Supported {
		if strings.EqualFold(s, want) {
			return s
		}
	}
	lang, _, _ := strings.Cut(want, "-")
	for _, s := range l.Supported {
		if sl, _, _ := strings.Cut(s, "-"); strings.EqualFold(sl, lang) {
			return s
		}
	}
	return l.Default
}

// locales decodes the flow's `locales`: {default, supported, var}.
func (d *decoder) locales(n *yaml.Node) {
	if n == nil {
		return
	}
	m := d.mapping(n, "locales", localesKeys...)
	if !d.require(n, m, "locales", localesKeys...) {
		return
	}
	l := &Locales{Pos: d.pos(n)}
	sup := m.get("supported")
	for _, it := range d.seq(sup, "locales: supported") {
		s, ok := d.str(it, "locale")
		switch {
		case !ok:
		case !localeRE.MatchString(s):
			d.errorf(d.pos(it), "locales: %q is not a locale (like en, es or pt-BR)", s)
		case contains(l.Supported, s):
			d.errorf(d.pos(it), "locales: %q is listed twice", s)
		default:
			l.Supported = append(l.Supported, s)
		}
	}
	if sup.Kind == yaml.SequenceNode && len(sup.Content) == 0 {
		d.errorf(d.pos(sup), "locales: supported needs at least one locale")
	}
	def := m.get("default")
	l.DefaultPos = d.pos(def)
	if s, ok := d.str(def, "locales: default"); ok {
		l.Default = s
		if !contains(l.Supported, s) && len(l.Supported) > 0 {
			d.errorf(l.DefaultPos, "locales: default %q is not one of the supported locales (%s)", s, strings.Join(l.Supported, ", "))
		}
	}
	v := m.get("var")
	l.VarPos = d.pos(v)
	if s, ok := d.str(v, "locales: var"); ok {
		l.Var = s
		switch vr := d.flow.Var(s); {
		case vr == nil:
			d.errorf(l.VarPos, "locales: var %s is not a declared variable", s)
		case vr.Type != TypeString:
			d.errorf(l.VarPos, "locales: var %s must be a string variable, not %s", s, vr.Type)
		}
	}
	d.flow.Locales = l
}

// localText decodes a text people read, which may be localized: a
// template, or a mapping of locale → template (`{en: Hi, es: Hola}`).
// Which locales it needs is checked with the bundle (checkLocales).
func (d *decoder) localText(n *yaml.Node, what string) *Template {
	if n.Kind != yaml.MappingNode {
		return d.template(n, what, scopeBase)
	}
	m := d.mapping(n, what)
	if m == nil {
		return nil
	}
	t := &Template{Pos: d.pos(n)}
	if len(m.order) == 0 {
		d.errorf(t.Pos, "%s: a localized text maps locales to texts, e.g. {en: Hi, es: Hola}; got an empty mapping", what)
		return nil
	}
	for _, loc := range m.order {
		k := m.keys[loc]
		if !localeRE.MatchString(loc) {
			d.errorf(d.pos(k), "%s: %q is not a locale (like en, es or pt-BR); a localized text maps locales to texts", what, loc)
			continue
		}
		if v := d.template(m.vals[loc], what+" ("+loc+")", scopeBase); v != nil {
			t.Localized = append(t.Localized, &LocalText{Locale: loc, KeyPos: d.pos(k), Template: v})
		}
	}
	if len(t.Localized) == 0 {
		return nil
	}
	return t
}

// checkLocales checks the bundle's locales: only the main flow declares
// them, and every localized text of every flow has exactly the supported
// locales. It also derives the payload of a quick reply with a localized
// title and no payload from the default locale's title.
func checkLocales(all []*Flow, b *Bundle, e *errs) {
	for _, f := range all {
		if f.Locales == nil {
			continue
		}
		if f.Name == b.Main || (b.Main == "" && b.Locales == nil) { // no main flow: reported, check the texts anyway
			b.Locales = f.Locales
		} else {
			e.errorf(f.Locales.Pos, "locales: only the main flow (%s) declares locales; they apply to the whole bundle", b.Main)
		}
	}
	l := b.Locales
	for _, f := range all {
		f.eachReply(func(r *ReplySpec) {
			for _, t := range r.texts() {
				checkLocalText(t, l, e)
			}
			if l == nil {
				return
			}
			for _, q := range r.QuickReplies {
				if q.derived {
					q.Payload = payloadOf(q.Title.In(l.Default, l.Default).Src)
				}
			}
		})
	}
}

func checkLocalText(t *Template, l *Locales, e *errs) {
	if t == nil || len(t.Localized) == 0 {
		return
	}
	if l == nil {
		e.errorf(t.Pos, "localized text (%s) in a bundle without locales: declare `locales: {default, supported, var}` in the main flow", localeList(t))
		return
	}
	if len(l.Supported) == 0 {
		return // reported at locales
	}
	have := map[string]bool{}
	for _, lt := range t.Localized {
		have[lt.Locale] = true
		if !contains(l.Supported, lt.Locale) {
			e.errorf(lt.KeyPos, "locale %q is not one of the supported locales (%s)", lt.Locale, strings.Join(l.Supported, ", "))
		}
	}
	for _, s := range l.Supported {
		if !have[s] {
			e.errorf(t.Pos, "localized text has no %q version (supported locales: %s)", s, strings.Join(l.Supported, ", "))
		}
	}
}

func localeList(t *Template) string {
	out := make([]string, len(t.Localized))
	for i, l := range t.Localized {
		out[i] = l.Locale
	}
	return strings.Join(out, ", ")
}

// texts lists the templates of the reply that may be localized: the texts
// people read.
func (r *ReplySpec) texts() []*Template {
	ts := []*Template{r.Text, r.PublicReply}
	for _, q := range r.QuickReplies {
		ts = append(ts, q.Title)
	}
	if r.Buttons != nil {
		ts = append(ts, r.Buttons.Text)
		for _, b := range r.Buttons.Buttons {
			ts = append(ts, b.Title)
		}
	}
	for _, c := range r.Cards {
		ts = append(ts, c.Title, c.Subtitle)
		for _, b := range c.Buttons {
			ts = append(ts, b.Title)
		}
	}
	return ts
}

// eachReply calls fn for every reply of the flow: triggers, states' say,
// ask retries, on transitions and timeouts.
func (f *Flow) eachReply(fn func(*ReplySpec)) {
	each := func(rs []*ReplySpec) {
		for _, r := range rs {
			fn(r)
		}
	}
	for _, t := range f.Triggers {
		each(t.Say)
	}
	for _, name := range f.Order {
		s := f.States[name]
		each(s.Say)
		if s.Ask != nil {
			each(s.Ask.Retry)
		}
		for _, t := range s.On {
			each(t.Say)
		}
		if s.Timeout != nil {
			each(s.Timeout.Say)
		}
	}
}

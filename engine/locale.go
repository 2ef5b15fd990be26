package engine

import (
	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/flows"
)

// Locale returns the locale s's texts render in: the value of the main
// flow's locale variable (flows.Locales.Var) matched against the bundle's
// supported locales (flows.Locales.Match), else the bundle's default; ""
// when the bundle declares no locales. In a sub-flow the variable is read
// from the main flow's frame: the locale belongs to the user, not to one
// flow. The value only selects among the flow's own texts: it is never
// rendered as a template or compiled as an expression.
func (e *Engine) Locale(s *dmflow.Session) string {
	l := e.b.Locales
	if l == nil {
		return ""
	}
	v, _ := e.localeValue(s).(string)
	return l.Match(v)
}

// localeValue is the main flow's locale variable in s, or its default.
func (e *Engine) localeValue(s *dmflow.Session) any {
	l, main := e.b.Locales, e.b.Main
	var vars map[string]any
	if s != nil {
		vars = s.Vars
		if s.Flow != "" && s.Flow != main {
			vars = nil // a session started in a sub-flow has no main flow variables
			for i := len(s.Stack) - 1; i >= 0; i-- {
				if fr := s.Stack[i]; fr.Flow == main {
					vars = fr.Vars
					if !fr.Scoped { // stored before scopes: one shared namespace
						vars = s.Vars
					}
					break
				}
			}
		}
	}
	if v, ok := vars[l.Var]; ok && v != nil {
		return v
	}
	if vr := e.b.Flows[main].Var(l.Var); vr != nil {
		return vr.Default
	}
	return nil
}

// defaultLocale is the bundle's default locale ("" when not localized).
func (e *Engine) defaultLocale() string {
	if l := e.b.Locales; l != nil {
		return l.Default
	}
	return ""
}

// localized picks the version of a localized text for the user's locale.
func (st *step) localized(t *flows.Template) *flows.Template {
	return t.In(st.e.Locale(st.s), st.e.defaultLocale())
}

// isLocaleVar reports whether name, set in the current flow, is the
// user's locale variable (so `user.locale` must be read again).
func (st *step) isLocaleVar(name string) bool {
	l := st.e.b.Locales
	return l != nil && name == l.Var && st.m.flow.Name == st.e.b.Main
}

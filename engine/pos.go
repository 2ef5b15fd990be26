package engine

import (
	"reflect"

	"github.com/dmflow/dmflow/flows"
)

// positions renders every flows.Pos reachable from v once, so that traces
// name YAML positions without formatting on the hot path.
func positions(v any, into map[flows.Pos]string) {
	walkPos(reflect.ValueOf(v), into, map[uintptr]bool{})
}

var posType = reflect.TypeFor[flows.Pos]()

func walkPos(v reflect.Value, into map[flows.Pos]string, seen map[uintptr]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		walkPos(v.Elem(), into, seen)
	case reflect.Struct:
		if v.Type() == posType {
			p := v.Interface().(flows.Pos)
			into[p] = p.String()
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walkPos(v.Field(i), into, seen)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkPos(v.Index(i), into, seen)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			walkPos(it.Value(), into, seen)
		}
	}
}

// pos renders a position, from the table built by New when possible.
func (e *Engine) pos(p flows.Pos) string {
	if s, ok := e.posText[p]; ok {
		return s
	}
	return p.String()
}

// pos renders a position for the trace, or "" when the step is not traced.
func (st *step) pos(p flows.Pos) string {
	if !st.tracing {
		return ""
	}
	return st.e.pos(p)
}

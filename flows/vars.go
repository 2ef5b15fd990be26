package flows

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Var returns the declared variable name, or nil.
func (f *Flow) Var(name string) *Var {
	for _, v := range f.Vars {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Initial returns the variable's value in a new session: its default, or
// the zero value of its type.
func (v *Var) Initial() any {
	if v.Default != nil {
		return v.Default
	}
	return v.Type.Zero()
}

// Zero returns the value expressions see for an unset variable of type t:
// "", 0, 0.0, false, time.Time{}, []any{}, map[string]any{}, or nil for any.
func (t VarType) Zero() any {
	switch t {
	case TypeString:
		return ""
	case TypeInt:
		return 0
	case TypeFloat:
		return 0.0
	case TypeBool:
		return false
	case TypeTime:
		return time.Time{}
	case TypeList:
		return []any{}
	case TypeMap:
		return map[string]any{}
	}
	return nil
}

// Coerce converts v (a JSON-compatible value from a session, a YAML default
// or an expression result) to the representation expressions expect for
// type t: string, int, float64, bool, time.Time, []any of strings,
// map[string]any, or v unchanged for any. nil becomes the zero value.
// A value that already has its type's representation is returned as is,
// without allocating.
func (t VarType) Coerce(v any) (any, error) {
	if v == nil {
		return t.Zero(), nil
	}
	switch t {
	case TypeString:
		if _, ok := v.(string); ok {
			return v, nil
		}
	case TypeInt:
		return toInt(v)
	case TypeFloat:
		return toFloat(v)
	case TypeBool:
		if _, ok := v.(bool); ok {
			return v, nil
		}
	case TypeTime:
		return toTime(v)
	case TypeList:
		return toList(v)
	case TypeMap:
		if _, ok := v.(map[string]any); ok {
			return v, nil
		}
	case TypeAny:
		return v, nil
	}
	return nil, fmt.Errorf("cannot use %T as %s", v, t)
}

func toInt(v any) (any, error) {
	switch n := v.(type) {
	case int:
		return v, nil
	case int64:
		return int(n), nil
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int(n), nil
		}
	case json.Number:
		i, err := n.Int64()
		return int(i), err
	}
	return nil, fmt.Errorf("cannot use %v (%T) as int", v, v)
}

func toFloat(v any) (any, error) {
	switch n := v.(type) {
	case float64:
		return v, nil
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case json.Number:
		return n.Float64()
	}
	return nil, fmt.Errorf("cannot use %T as float", v)
}

func toTime(v any) (any, error) {
	switch x := v.(type) {
	case time.Time:
		return v, nil
	case string:
		tm, err := time.Parse(time.RFC3339, x)
		if err != nil {
			return nil, fmt.Errorf("time must be RFC 3339 (2006-01-02T15:04:05Z): %q", x)
		}
		return tm, nil
	}
	return nil, fmt.Errorf("cannot use %T as time", v)
}

func toList(v any) (any, error) {
	switch l := v.(type) {
	case []string:
		return toAny(l), nil
	case []any:
		for _, e := range l {
			if _, ok := e.(string); !ok {
				return nil, fmt.Errorf("[]string element %v (%T) is not a string", e, e)
			}
		}
		return v, nil
	}
	return nil, fmt.Errorf("cannot use %T as []string", v)
}

// normalize turns YAML-decoded values into JSON-compatible ones.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	}
	return v
}

package flows

import "strings"

// checkRecursion reports sub-flow calls that can reach their own flow again
// (a flow calling itself, or a → b → a). Recursion is never legitimate in a
// flow: every call pushes a frame that only its return pops, so a flow that
// calls back into itself grows the session's stack with every round and
// never unwinds; going back to an earlier flow is a `return` (or a trigger
// of the calling flow, which unwinds the stack). The error is reported at
// each call that closes a cycle, with the cycle.
func checkRecursion(all []*Flow, b *Bundle, e *errs) {
	const (
		unvisited = iota
		active
		done
	)
	mark := map[string]int{}
	var path []string
	var visit func(f *Flow)
	visit = func(f *Flow) {
		mark[f.Name] = active
		path = append(path, f.Name)
		for _, name := range f.Order {
			c := f.States[name].Call
			if c == nil {
				continue
			}
			sub := b.Flows[c.Flow]
			if sub == nil {
				continue // reported by checkCalls
			}
			switch mark[sub.Name] {
			case active:
				i := indexOf(path, sub.Name)
				cycle := strings.Join(append(append([]string(nil), path[i:]...), sub.Name), " → ")
				if sub == f {
					e.errorf(c.Pos, "call: flow %s calls itself (recursion is not allowed: return to the caller instead)", f.Name)
				} else {
					e.errorf(c.Pos, "call: sub-flow cycle %s (recursion is not allowed: return to the caller instead)", cycle)
				}
			case unvisited:
				visit(sub)
			}
		}
		path = path[:len(path)-1]
		mark[f.Name] = done
	}
	for _, f := range all {
		if b.Flows[f.Name] == f && mark[f.Name] == unvisited {
			visit(f)
		}
	}
}

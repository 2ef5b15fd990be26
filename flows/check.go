package flows

import (
	"sort"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
)

// check runs the static checks of one flow (see doc.go for the list).
func check(f *Flow, e *errs) {
	c := &checker{f: f, e: e}
	c.targets()
	c.reachability()
	for _, name := range f.Order {
		c.state(f.States[name])
	}
	c.loops()
	c.timeoutChains()
	c.keywords(f.Triggers, "trigger")
	c.varUse()
}

type checker struct {
	f *Flow
	e *errs
}

// targets reports transitions to states that do not exist.
func (c *checker) targets() {
	for _, t := range c.f.edges() {
		if c.f.States[t.to.State] == nil {
			c.e.errorf(t.to.Pos, "%s: unknown state %q", t.kind, t.to.State)
		}
	}
}

// reachability warns about states no path reaches from start, a trigger or
// a migration.
func (c *checker) reachability() {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if seen[name] || c.f.States[name] == nil {
			return
		}
		seen[name] = true
		for _, e := range c.f.States[name].edges() {
			if e.to != nil {
				visit(e.to.State)
			}
		}
	}
	visit(c.f.Start)
	for _, t := range c.f.Triggers {
		if t.Goto != nil {
			visit(t.Goto.State)
		}
	}
	for _, to := range c.f.Migrate {
		visit(to)
	}
	for _, name := range c.f.Order {
		if !seen[name] {
			c.e.warnf(c.f.States[name].Pos, "state %s is unreachable", name)
		}
	}
}

// state checks one state's shape.
func (c *checker) state(s *State) {
	waits := s.Ask != nil || len(s.On) > 0
	terminal := s.Action != nil || s.Call != nil || s.Handoff != nil || s.End || s.Return || s.Split != nil
	if !waits && !terminal && s.Next == nil && s.Timeout == nil {
		c.e.errorf(s.Pos, "state %s is a dead end: it needs ask, on, next, timeout, action, call, handoff, end, return or split", s.Name)
	}
	if s.Settle != nil && !waits {
		c.e.errorf(s.SettlePos, "state %s: settle needs ask or on (it merges the messages a waiting state receives)", s.Name)
	}
	if s.Ask != nil && len(s.On) == 0 && s.Next == nil {
		c.e.errorf(s.Ask.Pos, "state %s: ask needs next or on (where does the flow go after a valid answer?)", s.Name)
	}
	if s.Ask == nil && len(s.On) > 0 && s.On[len(s.On)-1].When != nil && s.On[len(s.On)-1].Keywords == nil && s.Next == nil {
		c.e.warnf(s.On[0].Pos, "state %s: on has no fallback (an entry without when), so unmatched messages are ignored silently", s.Name)
	}
	c.keywords(s.On, "on")
	c.retryLadder(s)
	c.lateTimeout(s)
}

// lateTimeout warns about a timeout of 24 h or more that sends a message
// (its own say, or the say of the states it reaches by goto and next): it
// fires at least 24 h after the user's last message, when Instagram refuses
// the message (dmflow.CheckWindow). A handoff changes nothing: flow replies
// are never tagged HUMAN_AGENT, that tag is for an operator's own messages.
func (c *checker) lateTimeout(s *State) {
	t := s.Timeout
	if t == nil || t.After < dmflow.MessagingWindow {
		return
	}
	says := len(t.Say) > 0
	seen := map[string]bool{}
	for to := t.Goto; !says && to != nil && !seen[to.State]; {
		seen[to.State] = true
		next := c.f.States[to.State]
		if next == nil {
			break
		}
		says, to = len(next.Say) > 0, next.Next
	}
	if says {
		c.e.undeliverablef(t.Pos, "state %s: a timeout of %s sends a message at least 24 h after the user's last one, outside Instagram's messaging window: it is never delivered (use less than 24h, e.g. 23h)", s.Name, fmtDuration(t.After))
	}
}

// timeoutReach follows a timeout's goto and the next chain from there:
// the state the session ends up waiting in (nil: none) and whether a say
// is sent on the way (the timeout's own say included).
func (c *checker) timeoutReach(t *Timeout) (dest *State, says bool) {
	says = len(t.Say) > 0
	seen := map[string]bool{}
	for to := t.Goto; to != nil && !seen[to.State]; {
		seen[to.State] = true
		next := c.f.States[to.State]
		if next == nil {
			return nil, says
		}
		says, dest, to = says || len(next.Say) > 0, next, next.Next
	}
	return dest, says
}

// timeoutChains warns about a timeout shorter than 24 h that still sends
// a message 24 h or more after the user's last one, because the session
// got to its state through other timeouts (a reminder after a reminder):
// timeouts are measured from entering their state, and only the user's
// input opens the window again. Instagram Login apps have no opt-in
// (marketing) message to reach the user later (adapters/instagram,
// doc.go), so such a message is never delivered. lateTimeout covers a
// single timeout of 24 h or more.
func (c *checker) timeoutChains() {
	warned := map[string]bool{}
	budget := 10000 // bounds the walk on large flows
	var walk func(s *State, elapsed time.Duration, path map[string]bool, via []string)
	walk = func(s *State, elapsed time.Duration, path map[string]bool, via []string) {
		t := s.Timeout
		if t == nil || budget <= 0 {
			return
		}
		budget--
		at := elapsed + t.After
		dest, says := c.timeoutReach(t)
		if at >= dmflow.MessagingWindow {
			if says && elapsed > 0 && t.After < dmflow.MessagingWindow && !warned[s.Name] {
				warned[s.Name] = true
				c.e.undeliverablef(t.Pos, "state %s: its timeout sends a message %s after the user's last one when the session gets here by timeouts (%s), outside Instagram's messaging window: it is never delivered (keep the chain under 24h)",
					s.Name, fmtDuration(at), strings.Join(append(via, s.Name), " → "))
			}
			return
		}
		if dest == nil || path[dest.Name] {
			return
		}
		path[dest.Name] = true
		walk(dest, at, path, append(via, s.Name))
		delete(path, dest.Name)
	}
	for _, name := range c.f.Order {
		walk(c.f.States[name], 0, map[string]bool{name: true}, nil)
	}
}

// retryLadder warns about retry entries no failure says: the n-th failed
// answer says retry[n-1] (the last entry repeats), and the max_attempts-th
// failure says its entry, if any, and then goes to on_fail, so entries past
// max_attempts are never said.
func (c *checker) retryLadder(s *State) {
	a := s.Ask
	if a == nil || a.MaxAttempts <= 0 || len(a.Retry) <= a.MaxAttempts {
		return
	}
	for i, r := range a.Retry[a.MaxAttempts:] {
		c.e.warnf(r.Pos, "state %s: retry entry %d is never said: after failure %d (max_attempts) the flow goes to on_fail",
			s.Name, a.MaxAttempts+i+1, a.MaxAttempts)
	}
}

// keywords reports a keyword used by two entries.
func (c *checker) keywords(ts []*Transition, what string) {
	first := map[string]*Transition{}
	for _, t := range ts {
		for _, k := range t.Keywords {
			if prev, dup := first[k]; dup && prev != t {
				c.e.errorf(t.Pos, "%s keyword %q is already used at %s", what, k, prev.Pos)
				continue
			}
			first[k] = t
		}
	}
}

// loops reports cycles of states that follow next without ever waiting.
func (c *checker) loops() {
	const (
		unvisited = iota
		active
		done
	)
	mark := map[string]int{}
	var path []string
	var visit func(string)
	visit = func(name string) {
		s := c.f.States[name]
		if s == nil || mark[name] == done {
			return
		}
		if mark[name] == active {
			i := indexOf(path, name)
			c.e.errorf(s.Pos, "loop without a wait: %s → %s (each state follows next immediately)", strings.Join(path[i:], " → "), name)
			return
		}
		mark[name] = active
		path = append(path, name)
		for _, e := range s.edges() {
			if e.auto && e.to != nil {
				visit(e.to.State)
			}
		}
		path = path[:len(path)-1]
		mark[name] = done
	}
	for _, name := range c.f.Order {
		visit(name)
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fmtDuration renders d without zero minutes and seconds ("24h", "90m").
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

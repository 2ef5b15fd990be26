package loadtest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Result is what one load produced, measured from both ends.
type Result struct {
	Name   string // configuration name, for reports
	Events int    // events sent (the load's size)
	Acked  int    // events whose POST was answered 200
	Posts  int    // POST attempts, redeliveries included
	// Failures counts attempts not answered 200, by status ("503") or
	// "error" (connection refused or reset, timeout).
	Failures map[string]int
	// Elapsed runs from the first POST to the last reply.
	Elapsed time.Duration
	// EventsPerSec is acknowledged events answered, per second of Elapsed.
	EventsPerSec float64
	// Ack latency of successful POSTs; end-to-end latency from an event's
	// first POST to its first reply.
	AckP50, AckP99, AckMax time.Duration
	E2EP50, E2EP99, E2EMax time.Duration
	// Lost counts acknowledged events never answered; Duplicates replies
	// to an event already answered; OutOfOrder replies that arrived after a
	// reply to a later event of the same user; Miscounted first replies
	// whose count differs from the event's sequence number (an event
	// processed twice or skipped in the session state).
	Lost, Duplicates, OutOfOrder, Miscounted int
	// PeakRSS (bytes: VmHWM, file mappings included), PeakAnon (bytes:
	// the highest sample of anonymous memory, see WatchAnon) and DBSize
	// (bytes) are filled in by the caller.
	PeakRSS, PeakAnon, DBSize int64
	// Answered counts acknowledged events that were answered.
	Answered int
	// ServerCPU is the user + system CPU time of the server process(es)
	// during the load, GenCPU that of the process running the generator and
	// the Graph double (see CPUMeter); LoadStart, LoadEnd and LoadMax are
	// the 1-minute load averages at the start, at the end and the highest
	// sample (every 5 s). Filled in by the caller; zero when unmeasured.
	ServerCPU, GenCPU           time.Duration
	LoadStart, LoadEnd, LoadMax float64
	// DBCPU is the CPU time of the database server (PostgreSQL's
	// postmaster and all its processes) during the load, when it runs on
	// this machine; zero when unmeasured. ServerCPU does not include it.
	DBCPU time.Duration
}

// DBCPUPerEvent returns the database server's CPU time per answered event
// (0 when not measured).
func (r Result) DBCPUPerEvent() time.Duration {
	if r.Answered == 0 {
		return 0
	}
	return r.DBCPU / time.Duration(r.Answered)
}

// CPUPerEvent returns the server's CPU time per answered event (0 when
// not measured).
func (r Result) CPUPerEvent() time.Duration {
	if r.Answered == 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Answered)
}

// GenCPUPerEvent returns the generator's (and Graph double's) CPU time per
// answered event.
func (r Result) GenCPUPerEvent() time.Duration {
	if r.Answered == 0 {
		return 0
	}
	return r.GenCPU / time.Duration(r.Answered)
}

// Result analyses the replies rec received for this load.
func (l *Load) Result(name string, rec *Recorder) Result {
	l.mu.Lock()
	r := Result{Name: name, Events: len(l.acked), Posts: l.posts, Failures: map[string]int{}}
	for k, v := range l.failures {
		r.Failures[k] = v
	}
	acks := slices.Clone(l.acks)
	l.mu.Unlock()
	r.AckP50, r.AckP99, r.AckMax = percentiles(acks)
	var e2e []time.Duration
	last := l.start
	for u := range l.o.Users {
		ur := l.user(u, rec.Replies(User(u)), &e2e)
		r.add(ur)
		if ur.last.After(last) {
			last = ur.last
		}
	}
	r.Acked = l.Acked()
	r.Answered = len(e2e)
	r.Lost = r.Acked - len(e2e)
	if r.Lost < 0 {
		r.Lost = 0
	}
	r.E2EP50, r.E2EP99, r.E2EMax = percentiles(e2e)
	r.Elapsed = last.Sub(l.start)
	if r.Elapsed > 0 {
		r.EventsPerSec = float64(len(e2e)) / r.Elapsed.Seconds()
	}
	return r
}

// userResult is the analysis of one user's replies.
type userResult struct {
	dup, ooo, miscount int
	last               time.Time
}

func (r *Result) add(u userResult) {
	r.Duplicates += u.dup
	r.OutOfOrder += u.ooo
	r.Miscounted += u.miscount
}

// user checks user u's replies, appending the end-to-end latency of each
// acknowledged event's first reply to e2e.
func (l *Load) user(u int, replies []Reply, e2e *[]time.Duration) userResult {
	var ur userResult
	seen := make([]bool, l.perUser)
	lastSeq := 0
	for _, rep := range replies {
		i := rep.Seq - l.o.FirstSeq
		if i < 0 || i >= l.perUser {
			continue // not an answer to this load
		}
		if seen[i] {
			ur.dup++
			continue
		}
		seen[i] = true
		if rep.Seq < lastSeq {
			ur.ooo++
		}
		lastSeq = max(lastSeq, rep.Seq)
		if rep.N != rep.Seq {
			ur.miscount++
		}
		idx := u*l.perUser + i
		if l.acked[idx].Load() {
			*e2e = append(*e2e, rep.At.Sub(l.start.Add(time.Duration(l.sentAt[idx].Load()))))
		}
		if rep.At.After(ur.last) {
			ur.last = rep.At
		}
	}
	return ur
}

// percentiles returns p50, p99 and the maximum of ds (sorted in place).
func percentiles(ds []time.Duration) (p50, p99, mx time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return at(0.50), at(0.99), ds[len(ds)-1]
}

// Summary is the one-line report of r, with its events/s as a percentage
// of ceiling (omitted when ceiling is 0).
func (r Result) Summary(ceiling float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s %8.0f ev/s", r.Name, r.EventsPerSec)
	if ceiling > 0 {
		fmt.Fprintf(&b, " (%3.0f%%)", 100*r.EventsPerSec/ceiling)
	}
	fmt.Fprintf(&b, "  ack p50/p99/max %s/%s/%s  e2e p50/p99 %s/%s", ms(r.AckP50), ms(r.AckP99), ms(r.AckMax), ms(r.E2EP50), ms(r.E2EP99))
	fmt.Fprintf(&b, "  acked %d/%d lost %d dup %d ooo %d miscount %d", r.Acked, r.Events, r.Lost, r.Duplicates, r.OutOfOrder, r.Miscounted)
	fmt.Fprintf(&b, "  rss %s", mb(r.PeakRSS))
	if r.PeakAnon > 0 {
		fmt.Fprintf(&b, " anon %s", mb(r.PeakAnon))
	}
	if r.DBSize > 0 {
		fmt.Fprintf(&b, " db %s", mb(r.DBSize))
	}
	if n := r.failed(); n > 0 {
		fmt.Fprintf(&b, "  refused %d %v", n, r.Failures)
	}
	r.cpu(&b, 0)
	return b.String()
}

// Compare is the one-line report of r relative to the ceiling c: events/s
// and CPU per event as shares of c's.
func (r Result) Compare(c Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s %8.0f ev/s", r.Name, r.EventsPerSec)
	if c.EventsPerSec > 0 {
		fmt.Fprintf(&b, " (%.2f× the ceiling's)", r.EventsPerSec/c.EventsPerSec)
	}
	r.cpu(&b, c.CPUPerEvent())
	fmt.Fprintf(&b, "  ack p99 %s  lost %d dup %d ooo %d miscount %d", ms(r.AckP99), r.Lost, r.Duplicates, r.OutOfOrder, r.Miscounted)
	return b.String()
}

// cpu writes the CPU per event of the server and of the generator (with
// the ratio to ceiling's server CPU per event when > 0) and the load
// averages.
func (r Result) cpu(b *strings.Builder, ceiling time.Duration) {
	if r.ServerCPU == 0 && r.GenCPU == 0 {
		return
	}
	fmt.Fprintf(b, "  cpu/ev %s", us(r.CPUPerEvent()))
	if ceiling > 0 {
		fmt.Fprintf(b, " (%.2f×)", float64(r.CPUPerEvent())/float64(ceiling))
	}
	fmt.Fprintf(b, " gen %s", us(r.GenCPUPerEvent()))
	if r.DBCPU > 0 {
		fmt.Fprintf(b, " db %s", us(r.DBCPUPerEvent()))
	}
	if r.Elapsed > 0 {
		fmt.Fprintf(b, " (server %.2f, gen %.2f", r.ServerCPU.Seconds()/r.Elapsed.Seconds(), r.GenCPU.Seconds()/r.Elapsed.Seconds())
		if r.DBCPU > 0 {
			fmt.Fprintf(b, ", db %.2f", r.DBCPU.Seconds()/r.Elapsed.Seconds())
		}
		b.WriteString(" cores)")
	}
	if r.LoadStart >= 0 {
		fmt.Fprintf(b, "  load %.1f→%.1f max %.1f", r.LoadStart, r.LoadEnd, r.LoadMax)
	}
}

func us(d time.Duration) string {
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}

func (r Result) failed() int {
	n := 0
	for _, v := range r.Failures {
		n += v
	}
	return n
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

func mb(n int64) string { return fmt.Sprintf("%.0fMB", float64(n)/(1<<20)) }

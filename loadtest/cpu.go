package loadtest

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux the kernel ABI allows user space to see).
const clockTick = 10 * time.Millisecond

// CPU returns the user + system CPU time the process used so far, or 0
// when /proc is unavailable.
func (p *Process) CPU() time.Duration { return procCPU(p.Pid()) }

// procCPU reads utime + stime of pid from /proc/<pid>/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may contain spaces and parentheses: the
	// fields after it start at the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * clockTick
}

// SelfCPU returns the user + system CPU time of the calling process (the
// load generator and the Graph double when they run in it), or 0.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// LoadAvg returns the 1-minute load average (/proc/loadavg), or -1.
func LoadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// CPUMeter measures the CPU the servers and the generator use between
// Start and Stop, and samples the load average.
type CPUMeter struct {
	procs           []*Process
	server0, self0  time.Duration
	LoadStart, Load float64 // 1-minute load average at start, and the highest sample
	quit, done      chan struct{}
}

// StartCPU starts measuring procs (the servers) and this process.
func StartCPU(procs []*Process) *CPUMeter {
	m := &CPUMeter{procs: procs, self0: SelfCPU(), LoadStart: LoadAvg(), quit: make(chan struct{}), done: make(chan struct{})}
	for _, p := range procs {
		m.server0 += p.CPU()
	}
	m.Load = m.LoadStart
	go func() {
		defer close(m.done)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-m.quit:
				return
			case <-t.C:
				m.Load = max(m.Load, LoadAvg())
			}
		}
	}()
	return m
}

// Stop ends the measurement and fills r's CPU and load fields.
func (m *CPUMeter) Stop(r *Result) {
	close(m.quit)
	<-m.done
	var server time.Duration
	for _, p := range m.procs {
		server += p.CPU()
	}
	end := LoadAvg()
	r.ServerCPU, r.GenCPU = server-m.server0, SelfCPU()-m.self0
	r.LoadStart, r.LoadEnd, r.LoadMax = m.LoadStart, end, max(m.Load, end)
}

// procStat returns the fields of /proc/<pid>/stat after the command name
// (f[0] is field 3, the state), or nil.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return nil
	}
	return f
}

// ticks sums the clock-tick fields f[i] of a procStat result.
func ticks(f []string, idx ...int) time.Duration {
	var n int64
	for _, i := range idx {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0
		}
		n += v
	}
	return time.Duration(n) * clockTick
}

// ParentPID returns the parent process id of pid, or 0.
func ParentPID(pid int) int {
	f := procStat(pid)
	if f == nil {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// TreeCPU returns the CPU time used so far by pid and its children: its
// own user + system time, that of the children it has waited for (cutime,
// cstime: exited children) and that of its live children. Used for a
// server of many processes, like PostgreSQL's postmaster and its
// backends. 0 when /proc is unavailable.
func TreeCPU(pid int) time.Duration {
	f := procStat(pid)
	if f == nil {
		return 0
	}
	total := ticks(f, 11, 12, 13, 14) // utime, stime, cutime, cstime
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return total
	}
	ppid := strconv.Itoa(pid)
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cf := procStat(child); cf != nil && cf[1] == ppid {
			total += ticks(cf, 11, 12)
		}
	}
	return total
}

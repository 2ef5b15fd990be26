package loadtest

import (
	"os"
	"os/exec"
	"testing"
)

// TestTreeCPU: a process's tree CPU includes its own and that of the
// children it waited for; ParentPID reads /proc.
func TestTreeCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if got, want := ParentPID(os.Getpid()), os.Getppid(); got != want {
		t.Fatalf("ParentPID = %d, want %d", got, want)
	}
	before := TreeCPU(os.Getpid())
	// A child that burns some CPU, waited for: its time moves into cutime.
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done")
	if err := cmd.Run(); err != nil {
		t.Skip("no sh:", err)
	}
	child := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	after := TreeCPU(os.Getpid())
	if after < before || after-before < child-2*clockTick {
		t.Fatalf("tree CPU grew by %v, the child used %v", after-before, child)
	}
	if TreeCPU(-1) != 0 || ParentPID(-1) != 0 {
		t.Fatal("a missing process must give 0")
	}
}

package testutil_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/dmflow/dmflow/internal/testutil"
)

func TestScale(t *testing.T) {
	for _, c := range []struct {
		env  string
		want time.Duration
	}{{"", 10 * time.Second}, {"1", 10 * time.Second}, {"2.5", 25 * time.Second}, {"0.5", 5 * time.Second}} {
		t.Setenv(testutil.Env, c.env)
		if got := testutil.Scale(10 * time.Second); got != c.want {
			t.Errorf("%s=%q: Scale(10s) = %s, want %s", testutil.Env, c.env, got, c.want)
		}
	}
}

func TestScaleRejectsNonsense(t *testing.T) {
	for _, v := range []string{"x", "0", "-1", "1e9"} {
		t.Run(v, func(t *testing.T) {
			t.Setenv(testutil.Env, v)
			defer func() {
				if recover() == nil {
					t.Errorf("%s=%q did not panic", testutil.Env, v)
				}
			}()
			testutil.Factor()
		})
	}
}

func TestPoll(t *testing.T) {
	var n atomic.Int32
	if !testutil.Poll(time.Minute, func() bool { return n.Add(1) == 5 }) {
		t.Fatal("Poll gave up on a condition that holds at the fifth check")
	}
	if testutil.Poll(0, func() bool { return false }) {
		t.Fatal("Poll reported a condition that never holds")
	}
}

func TestRecv(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 7
	if got := testutil.Recv(t, ch, "seven"); got != 7 {
		t.Fatalf("Recv = %d", got)
	}
}

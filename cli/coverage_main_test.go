package cli

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for the dmflow binary. dmflow
// bench starts its servers from its own executable (os.Executable), which
// in this package's tests is the test binary: started with a dmflow command
// as its first argument ("bench --child ceiling", "serve", "migrate") it
// runs that command through Main, exactly as cmd/dmflow does, instead of
// the tests.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && find(os.Args[1], &Options{}) != nil {
		os.Exit(Main(os.Args, Options{}))
	}
	os.Exit(m.Run())
}

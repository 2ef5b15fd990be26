package loadtest

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

// CounterFlow is the flow every load runs: each message increments the
// session variable n and is answered "<n> <text>".
//
//go:embed flows/counter.yaml
var CounterFlow []byte

// WriteFlows writes CounterFlow into a new "flows" directory under dir and
// returns the directory's path.
func WriteFlows(dir string) (string, error) {
	fd := filepath.Join(dir, "flows")
	if err := os.MkdirAll(fd, 0o755); err != nil {
		return "", fmt.Errorf("loadtest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(fd, "counter.yaml"), CounterFlow, 0o644); err != nil {
		return "", fmt.Errorf("loadtest: %w", err)
	}
	return fd, nil
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateAgainstPerAccount: with a per-account flows directory, each
// session is checked against its account's bundle (else default/).
func TestValidateAgainstPerAccount(t *testing.T) {
	db := seededBolt(t) // sessions of testAccount
	for _, tc := range []struct {
		name    string
		bundles map[string]string // sub-directory → main.yaml
		want    string
	}{
		{"the account's own bundle", map[string]string{testAccount: flowV1, "default": strandingFlow}, "4 sessions checked, 1 stranded, 0 migrated"},
		{"the default bundle", map[string]string{"17841400000000001": flowV1, "default": strandingFlow}, "4 sessions checked, 2 stranded, 0 migrated"},
		{"no bundle for the account", map[string]string{"17841400000000001": flowV1}, "no bundle for account " + testAccount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "flows")
			for sub, src := range tc.bundles {
				if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, sub, "main.yaml"), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errs := runCmd(t, envMap{}, "validate", "--against", db, dir)
			if code != exitFail || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d and %q\nstdout:\n%s\nstderr:\n%s", code, exitFail, tc.want, out, errs)
			}
		})
	}
}

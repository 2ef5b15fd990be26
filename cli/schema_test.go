package cli

import (
	"strings"
	"testing"
)

// TestSchemaCommand: `dmflow schema [flow|transcript]` prints the schemas.
func TestSchemaCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"schema"}, exitOK, `"title": "dmflow flow"`},
		{[]string{"schema", "flow"}, exitOK, `"title": "dmflow flow"`},
		{[]string{"schema", "transcript"}, exitOK, `"title": "dmflow transcript"`},
		{[]string{"schema", "bogus"}, exitUsage, `unknown schema "bogus"`},
		{[]string{"schema", "flow", "transcript"}, exitUsage, "at most one argument"},
	} {
		code, out, errs := runCmd(t, envMap{}, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%v: exit %d, want %d and %q in:\n%s%s", tc.args, code, tc.code, tc.want, out, errs)
		}
	}
}

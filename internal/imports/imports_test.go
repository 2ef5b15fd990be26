package imports

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/dmflow/dmflow"

// deps lists the packages pkgs depend on (transitively, tests excluded).
func deps(t *testing.T, pkgs ...string) map[string][]string {
	t.Helper()
	args := append([]string{"list", "-deps=false", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`}, pkgs...)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		m[f[0]] = f[1:]
	}
	if len(m) < len(pkgs) {
		t.Fatalf("go list matched %d packages for %v", len(m), pkgs)
	}
	return m
}

func TestCoreImportsNoAdapter(t *testing.T) {
	for pkg, ds := range deps(t, module+"/bot/...", module+"/engine/...", module+"/flows/...") {
		for _, d := range ds {
			if strings.HasPrefix(d, module+"/adapters/") || strings.HasPrefix(d, module+"/internal/metahook") {
				t.Errorf("%s depends on %s: bot, engine and flows must not know any channel adapter", pkg, d)
			}
		}
	}
}

func TestRootImportsNothingOfOurs(t *testing.T) {
	for pkg, ds := range deps(t, module) {
		for _, d := range ds {
			if strings.HasPrefix(d, module+"/") {
				t.Errorf("%s depends on %s: the root vocabulary imports only the standard library", pkg, d)
			}
		}
	}
}

package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
)

// bundleSpec names the paths that load together as one bundle.
type bundleSpec struct {
	Name  string   // what the user sees: the directory, or the files
	Paths []string // passed to flows.Load
}

// errUsage marks argument errors (exit code 2).
var errUsage = errors.New("usage")

// findBundles turns command-line paths into bundles: files named together
// form one bundle; a directory with flow files directly in it is one bundle
// of exactly those files (what `dmflow serve --flows DIR` loads; its
// sub-directories are not searched); a directory without flow files is
// searched recursively (skipping hidden and testdata directories) and each
// sub-directory found with flow files is a bundle, by the same rule. See
// docs/testing.md, "Bundles".
func findBundles(args []string) ([]bundleSpec, error) {
	var out []bundleSpec
	var files []string
	for _, a := range args {
		n := len(out)
		err := walkArg(a, func(f string) { files = append(files, f) }, func(dir string) error {
			ok, err := hasFlowFiles(dir)
			if err != nil || !ok {
				return err
			}
			out = append(out, bundleSpec{Name: dir, Paths: []string{dir}})
			return fs.SkipDir // a bundle's sub-directories belong to no bundle
		})
		if err != nil {
			return nil, err
		}
		if len(out) == n && !contains(files, a) {
			return nil, fmt.Errorf("%w: no flow files (*.yaml, *.yml) in %s", errUsage, a)
		}
	}
	if len(files) > 0 {
		out = append(out, bundleSpec{Name: strings.Join(files, " "), Paths: files})
	}
	return out, nil
}

// walkArg calls file for a file argument, or dir for a directory argument
// and every directory below it except hidden and testdata ones, in lexical
// order. A missing path is a usage error.
func walkArg(arg string, file func(string), dir func(string) error) error {
	st, err := os.Stat(arg)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if !st.IsDir() {
		file(arg)
		return nil
	}
	return filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case !d.IsDir():
			return nil
		case p != arg && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata"):
			return filepath.SkipDir
		}
		return dir(p)
	})
}

func hasFlowFiles(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if !e.IsDir() && isFlowFileName(e.Name()) {
			return true, nil
		}
	}
	return false, nil
}

// isFlowFileName mirrors the loader: *.yaml and *.yml except *.test.yaml.
func isFlowFileName(name string) bool {
	ext := filepath.Ext(name)
	if ext != ".yaml" && ext != ".yml" {
		return false
	}
	return !strings.HasSuffix(strings.TrimSuffix(name, ext), ".test")
}

// loadEngine loads a bundle and builds its engine. The error is the loader's
// (a flows.ErrorList for flow problems) or the engine's.
func loadEngine(paths ...string) (*engine.Engine, error) {
	b, err := flows.Load(paths...)
	if err != nil {
		return nil, err
	}
	return engine.New(b, nil)
}

// loadOne loads the single bundle named by args (chat, graph).
func loadOne(args []string) (*engine.Engine, string, error) {
	bs, err := findBundles(args)
	if err != nil {
		return nil, "", err
	}
	if len(bs) != 1 {
		names := make([]string, len(bs))
		for i, b := range bs {
			names[i] = b.Name
		}
		return nil, "", fmt.Errorf("%w: %d bundles found (%s); name one directory or its files", errUsage, len(bs), strings.Join(names, ", "))
	}
	e, err := loadEngine(bs[0].Paths...)
	return e, bs[0].Name, err
}

// exitFor reports a load error and returns the exit code: usage errors 2,
// everything else 1. Flow diagnostics print one per line.
func exitFor(w io.Writer, cmd string, err error) int {
	var list flows.ErrorList
	switch {
	case errors.As(err, &list):
		fmt.Fprintln(w, list.Error())
		return exitFail
	case errors.Is(err, errUsage):
		fmt.Fprintf(w, "dmflow %s: %s\n", cmd, strings.TrimPrefix(err.Error(), "usage: "))
		return exitUsage
	}
	fmt.Fprintf(w, "dmflow %s: %v\n", cmd, err)
	return exitFail
}

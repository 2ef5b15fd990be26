package flowtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
)

// Bundle names the paths that load together as one bundle.
type Bundle struct {
	Name  string   // what the user sees: the directory, or the files
	Paths []string // passed to flows.Load
}

// ErrUsage marks errors in the paths a caller named: missing, or without
// the files asked for (the CLI's exit code 2).
var ErrUsage = errors.New("usage")

// FindBundles turns command-line paths into bundles: files named together
// form one bundle; a directory with flow files directly in it is one bundle
// of exactly those files (what `dmflow serve --flows DIR` loads; its
// sub-directories are not searched); a directory without flow files is
// searched recursively (skipping hidden and testdata directories) and each
// sub-directory found with flow files is a bundle, by the same rule. See
// docs/testing.md, "Bundles".
func FindBundles(args []string) ([]Bundle, error) {
	var out []Bundle
	var files []string
	for _, a := range args {
		n := len(out)
		err := walkArg(a, func(f string) { files = append(files, f) }, func(dir string) error {
			ok, err := HasFlowFiles(dir)
			if err != nil || !ok {
				return err
			}
			out = append(out, Bundle{Name: dir, Paths: []string{dir}})
			return fs.SkipDir // a bundle's sub-directories belong to no bundle
		})
		if err != nil {
			return nil, err
		}
		if len(out) == n && !contains(files, a) {
			return nil, fmt.Errorf("%w: no flow files (*.yaml, *.yml) in %s", ErrUsage, a)
		}
	}
	if len(files) > 0 {
		out = append(out, Bundle{Name: strings.Join(files, " "), Paths: files})
	}
	return out, nil
}

// walkArg calls file for a file argument, or dir for a directory argument
// and every directory below it except hidden and testdata ones, in lexical
// order. A missing path is a usage error.
func walkArg(arg string, file func(string), dir func(string) error) error {
	st, err := os.Stat(arg)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
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

// HasFlowFiles reports whether dir holds flow files directly (not below).
func HasFlowFiles(dir string) (bool, error) {
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

// LoadEngine loads a bundle with opts (the program's helpers and Go action
// signatures; nil: none) and builds its engine. The error is the loader's
// (a flows.ErrorList for flow problems) or the engine's.
func LoadEngine(opts *flows.Options, paths ...string) (*engine.Engine, error) {
	b, err := opts.Load(paths...)
	if err != nil {
		return nil, err
	}
	return engine.New(b, nil)
}

// LoadOne loads the single bundle named by args (chat, graph) and returns
// its engine and name.
func LoadOne(opts *flows.Options, args []string) (*engine.Engine, string, error) {
	bs, err := FindBundles(args)
	if err != nil {
		return nil, "", err
	}
	if len(bs) != 1 {
		names := make([]string, len(bs))
		for i, b := range bs {
			names[i] = b.Name
		}
		return nil, "", fmt.Errorf("%w: %d bundles found (%s); name one directory or its files", ErrUsage, len(bs), strings.Join(names, ", "))
	}
	e, err := LoadEngine(opts, bs[0].Paths...)
	return e, bs[0].Name, err
}

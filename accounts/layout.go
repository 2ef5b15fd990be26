package accounts

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// IsAccountID reports whether id looks like an Instagram account id
// (IG_ID): 1 to 32 ASCII digits.
func IsAccountID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Layout is a flows directory holding one bundle per account.
type Layout struct {
	Dir     string
	Bundles map[string]string // account id or Default → its sub-directory
}

// ReadLayout inspects dir. It returns multi=false when dir is a file or
// holds flow files itself: then dir is one bundle for every account (the
// rule of docs/testing.md). Otherwise every sub-directory named by an
// account id (digits) or "default" is that account's bundle; hidden
// directories and testdata are skipped, and any other sub-directory is an
// error (a misspelt id must not silently fall back to the default).
func ReadLayout(dir string) (l Layout, multi bool, err error) {
	return ReadLayoutFS(osFS{}, dir)
}

// ReadLayoutFS is ReadLayout over fsys (nil: the host's files).
func ReadLayoutFS(fsys fs.FS, dir string) (l Layout, multi bool, err error) {
	if fsys == nil {
		fsys = osFS{}
	}
	st, err := fs.Stat(fsys, dir)
	if err != nil {
		return Layout{}, false, err
	}
	if !st.IsDir() {
		return Layout{}, false, nil
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return Layout{}, false, err
	}
	l = Layout{Dir: dir, Bundles: map[string]string{}}
	var odd []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case !e.IsDir():
			if IsFlowFile(name) {
				return Layout{}, false, nil // a single bundle
			}
		case strings.HasPrefix(name, ".") || name == "testdata":
		case name == Default || IsAccountID(name):
			l.Bundles[name] = path.Join(dir, name)
		default:
			odd = append(odd, name)
		}
	}
	if len(l.Bundles) == 0 {
		return Layout{}, false, nil // no bundle at all: the loader says why
	}
	if len(odd) > 0 {
		slices.Sort(odd)
		return Layout{}, false, fmt.Errorf("flows %s: sub-directories %s are neither an account id (digits) nor %q; rename or move them",
			dir, strings.Join(odd, ", "), Default)
	}
	return l, true, nil
}

// IsFlowFile mirrors the flows loader: *.yaml and *.yml except *.test.yaml
// and *.test.yml.
func IsFlowFile(name string) bool {
	ext := path.Ext(name)
	if ext != ".yaml" && ext != ".yml" {
		return false
	}
	return !strings.HasSuffix(strings.TrimSuffix(name, ext), ".test")
}

// Accounts lists the layout's bundles, sorted.
func (l Layout) Accounts() []string {
	out := make([]string, 0, len(l.Bundles))
	for id := range l.Bundles {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// LoadFunc builds an account's engine from the bundle at path.
type LoadFunc func(ctx context.Context, account, path string) (Engine, error)

// Paths is a Source of fixed bundle paths per account (Default included).
// With Dir set, the paths are read again from that directory's layout on
// every Accounts call, so a full reload sees added and removed accounts;
// explicit entries (the config file's) win over the directory's.
type Paths struct {
	Dir     string            // optional: a multi-account flows directory
	FS      fs.FS             // Dir is read from FS (nil: the host)
	Bundles map[string]string // explicit account → bundle path
	// Inherit lists accounts with settings of their own but no bundle of
	// their own: each gets an engine of the Default bundle, built with its
	// settings (e.g. its own handoff release or outgoing webhook).
	Inherit []string
	Build   LoadFunc
}

// Accounts implements Source.
func (p *Paths) Accounts() ([]string, error) {
	m, err := p.paths()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}

// Path returns account's bundle path ("" when it has none of its own).
func (p *Paths) Path(account string) string {
	m, err := p.paths()
	if err != nil {
		return ""
	}
	return m[account]
}

func (p *Paths) paths() (map[string]string, error) {
	m := map[string]string{}
	if p.Dir != "" {
		fsys := p.FS
		if fsys == nil {
			fsys = osFS{}
		}
		l, multi, err := ReadLayoutFS(fsys, p.Dir)
		if err != nil {
			return nil, err
		}
		if !multi {
			return nil, fmt.Errorf("flows %s: no account sub-directories (want one per account id, and/or %s/)", p.Dir, Default)
		}
		m = l.Bundles
	}
	for id, pth := range p.Bundles {
		m[id] = pth
	}
	if def, ok := m[Default]; ok {
		for _, id := range p.Inherit {
			if _, own := m[id]; !own {
				m[id] = def
			}
		}
	}
	return m, nil
}

// Load implements Source.
func (p *Paths) Load(ctx context.Context, account string) (Engine, error) {
	pth := p.Path(account)
	if pth == "" {
		return nil, fmt.Errorf("no bundle")
	}
	return p.Build(ctx, account, pth)
}

// osFS reads host paths as given.
type osFS struct{}

func (osFS) Open(name string) (fs.File, error) { return os.Open(filepath.FromSlash(name)) }

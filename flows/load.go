package flows

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/types"
)

// Options configure loading. The zero value (or nil) is valid: no embedder
// functions, and Go actions are not checked.
type Options struct {
	// Funcs are embedder helper functions callable from expressions, by name.
	// Names must not collide with expr builtins, the helpers of this package or
	// reserved names.
	Funcs map[string]Func
	// Actions are the registered Go actions. When non-nil, `action: {go: name}`
	// must name one of them and its args must match. When nil (e.g. in
	// `dmflow validate`), Go actions are not checked.
	Actions map[string]ActionSig
}

// ActionSig is the signature of a registered Go action: its arguments and
// their types, and the ones a flow must pass.
type ActionSig struct {
	Args     map[string]VarType
	Required []string
}

func (o *Options) funcNames() []string {
	if o == nil {
		return nil
	}
	names := make([]string, 0, len(o.Funcs))
	for n := range o.Funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (o *Options) validate() error {
	for _, name := range o.funcNames() {
		if isBuiltin(name) || Helpers[name] != "" || name == "list_concat" || contains(Reserved, name) {
			return fmt.Errorf("flows: option Funcs: %q collides with a builtin, helper or reserved name", name)
		}
		if o.Funcs[name].Fn == nil {
			return fmt.Errorf("flows: option Funcs: %q has no Fn", name)
		}
	}
	return nil
}

func isBuiltin(name string) bool {
	for _, b := range builtin.Builtins {
		if b.Name == name {
			return true
		}
	}
	return false
}

// Load loads a bundle from files and directories on disk with default options.
// Directories contribute their *.yaml and *.yml files (not recursively),
// except *.test.yaml / *.test.yml files.
//
// The error is an ErrorList when the flows have problems: it holds every
// error and warning, sorted. When there are only warnings, Load returns the
// bundle and a nil error; the warnings are in Bundle.Warnings.
func Load(paths ...string) (*Bundle, error) { return (*Options)(nil).Load(paths...) }

// LoadFS is Load over a file system (paths are fs.FS paths, e.g. "flows").
func LoadFS(fsys fs.FS, paths ...string) (*Bundle, error) {
	return (*Options)(nil).LoadFS(fsys, paths...)
}

// Load is the package-level Load with these options.
func (o *Options) Load(paths ...string) (*Bundle, error) {
	return o.load(osFS{}, paths)
}

// LoadFS is the package-level LoadFS with these options.
func (o *Options) LoadFS(fsys fs.FS, paths ...string) (*Bundle, error) {
	return o.load(fsys, paths)
}

// osFS reads host paths (absolute or relative) as given.
type osFS struct{}

func (osFS) Open(name string) (fs.File, error) { return os.Open(filepath.FromSlash(name)) }

func (o *Options) load(fsys fs.FS, paths []string) (*Bundle, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	files, err := expand(fsys, paths)
	if err != nil {
		return nil, err
	}
	var list ErrorList
	var all []*Flow
	for _, name := range files {
		src, err := readLimited(fsys, name)
		if err != nil {
			list = append(list, &Error{Pos: Pos{name, 1, 1}, Msg: err.Error()})
			continue
		}
		flows, errs := o.parse(name, src)
		list = append(list, errs...)
		all = append(all, flows...)
	}
	b, errs := o.bundle(all, files)
	list = append(list, errs...)
	list.Sort()
	if err := list.Err(); err != nil {
		return nil, err
	}
	b.Warnings = list
	return b, nil
}

// expand turns paths into the list of flow files, in a stable order.
func expand(fsys fs.FS, paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("flows: no flow files given")
	}
	var files []string
	for _, p := range paths {
		st, err := fs.Stat(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("flows: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := fs.ReadDir(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("flows: %w", err)
		}
		n := len(files)
		for _, e := range entries {
			if name := e.Name(); !e.IsDir() && isFlowFile(name) {
				files = append(files, path.Join(p, name))
			}
		}
		if len(files) == n {
			return nil, fmt.Errorf("flows: no *.yaml or *.yml flow files in %s", p)
		}
	}
	return files, nil
}

func isFlowFile(name string) bool {
	ext := path.Ext(name)
	if ext != ".yaml" && ext != ".yml" {
		return false
	}
	return !strings.HasSuffix(strings.TrimSuffix(name, ext), ".test")
}

func readLimited(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return src, nil
}

// Parse parses one flow from src (the file must hold exactly one YAML
// document) and runs the flow's own static checks; checks across flows (call
// targets, and reads before set in a flow that calls sub-flows) need a
// Bundle. The error is an ErrorList holding every problem;
// it is nil when there are only warnings, which are in Flow.Warnings.
func Parse(filename string, src []byte, opts *Options) (*Flow, error) {
	flows, err := ParseAll(filename, src, opts)
	if err != nil {
		return nil, err
	}
	if len(flows) != 1 {
		return nil, ErrorList{{Pos: Pos{filename, 1, 1}, Msg: fmt.Sprintf("expected one flow, found %d (use ParseAll)", len(flows))}}
	}
	return flows[0], nil
}

// ParseAll parses every flow (YAML document) of src, like Parse.
func ParseAll(filename string, src []byte, opts *Options) ([]*Flow, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	flows, list := opts.parse(filename, src)
	list.Sort()
	if err := list.Err(); err != nil {
		return nil, err
	}
	return flows, nil
}

// decoder holds the state of decoding one flow document.
type decoder struct {
	errs
	file  string
	lines []string
	opts  *Options
	flow  *Flow
	env   types.Map // base environment: event, user, now, variables
	input VarType   // type of `input` while an ask is decoded
}

func (o *Options) parse(filename string, src []byte) ([]*Flow, ErrorList) {
	d := &decoder{file: filename, opts: o, lines: strings.SplitAfter(string(src), "\n")}
	docs := d.parseDocs(src)
	if len(docs) == 0 && len(d.list) == 0 {
		d.errorf(Pos{filename, 1, 1}, "no flow in file")
	}
	var flows []*Flow
	for _, doc := range docs {
		start := len(d.list)
		if f := d.decodeFlow(doc); f != nil {
			check(f, &d.errs)
			f.Warnings = d.list[start:].Warnings()
			flows = append(flows, f)
		}
	}
	return flows, d.list
}

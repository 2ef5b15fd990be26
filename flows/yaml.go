package flows

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Limits that keep hostile flow files from exhausting memory or stack.
const (
	MaxFileSize = 1 << 20 // bytes per flow file
	MaxDepth    = 64      // nesting of YAML mappings and lists
	maxDocs     = 64      // flows per file
)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseDocs splits src into YAML documents and checks each for hostile
// constructs. Documents with problems are reported and left out.
func (d *decoder) parseDocs(src []byte) (docs []*yaml.Node) {
	if len(src) > MaxFileSize {
		d.errorf(Pos{d.file, 1, 1}, "file is larger than %d bytes (1 MiB)", MaxFileSize)
		return nil
	}
	defer func() { // yaml.v3 has panicked on crafted input before (CVE-2022-28948)
		if r := recover(); r != nil {
			d.errorf(Pos{d.file, 1, 1}, "invalid YAML: %v", r)
			docs = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for len(docs) <= maxDocs {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			d.yamlError(err)
			return nil
		}
		if d.guard(&n, 0) {
			docs = append(docs, &n)
		}
	}
	d.errorf(Pos{d.file, 1, 1}, "more than %d YAML documents in one file", maxDocs)
	return nil
}

// yamlError converts a yaml.v3 syntax error ("yaml: line 3: ...") to an Error.
func (d *decoder) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.errorf(Pos{d.file, max(line, 1), 1}, "invalid YAML: %s", m[2])
		return
	}
	d.errorf(Pos{d.file, 1, 1}, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// guard rejects aliases, anchors, custom tags and excessive nesting. It
// reports the first problem of the document only.
func (d *decoder) guard(n *yaml.Node, depth int) bool {
	switch {
	case depth > MaxDepth+1: // +1: the document node
		d.errorf(d.pos(n), "nesting deeper than %d levels", MaxDepth)
		return false
	case n.Kind == yaml.AliasNode:
		d.errorf(d.pos(n), "aliases are not allowed (*%s)", n.Value)
		return false
	case n.Anchor != "":
		d.errorf(d.pos(n), "anchors and aliases are not allowed (&%s)", n.Anchor)
		return false
	case n.Tag != "" && !strings.HasPrefix(n.Tag, "!!"):
		d.errorf(d.pos(n), "custom YAML tag %s is not allowed", n.Tag)
		return false
	}
	for _, c := range n.Content {
		if !d.guard(c, depth+1) {
			return false
		}
	}
	return true
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

// subPos maps a 0-based line and rune column inside a scalar's value to the
// position in the file. When the value's text cannot be found verbatim in the
// source (folded blocks, escapes), it falls back to the scalar's position.
func (d *decoder) subPos(n *yaml.Node, line, col int) Pos {
	base := d.pos(n)
	switch n.Style {
	case 0, yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle, yaml.FlowStyle:
		if strings.Contains(n.Value, "\n") || line != 0 {
			return base
		}
		off := 0
		if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
			off = 1
		}
		src := []rune(d.line(n.Line))
		start := n.Column - 1 + off
		vr := []rune(n.Value)
		if start < 0 || start+len(vr) > len(src) || string(src[start:start+len(vr)]) != n.Value {
			return base
		}
		return Pos{d.file, n.Line, n.Column + off + col}
	case yaml.LiteralStyle:
		lines := strings.Split(n.Value, "\n")
		if line >= len(lines) {
			return base
		}
		text := d.line(n.Line + 1 + line)
		if !strings.HasSuffix(text, lines[line]) {
			return base
		}
		lead := utf8.RuneCountInString(text) - utf8.RuneCountInString(lines[line])
		return Pos{d.file, n.Line + 1 + line, lead + col + 1}
	}
	return base
}

// line returns the 1-based source line n without its newline.
func (d *decoder) line(n int) string {
	if n < 1 || n > len(d.lines) {
		return ""
	}
	return strings.TrimRight(d.lines[n-1], "\r\n")
}

// fields is a checked YAML mapping.
type fields struct {
	keys, vals map[string]*yaml.Node
	order      []string
}

func (f *fields) get(k string) *yaml.Node {
	if f == nil {
		return nil
	}
	return f.vals[k]
}

func (f *fields) has(k string) bool { return f.get(k) != nil }

// mapping checks that n is a mapping with unique, allowed keys. It returns nil
// (after reporting) when n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, what string, allowed ...string) *fields {
	if n.Kind != yaml.MappingNode {
		d.errorf(d.pos(n), "%s must be a mapping, got %s", what, kindName(n))
		return nil
	}
	f := &fields{keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(d.pos(k), "%s keys must be strings, got %s", what, kindName(k))
			continue
		}
		if prev, dup := f.keys[k.Value]; dup {
			d.errorf(d.pos(k), "duplicate key %q in %s (first defined at %s)", k.Value, what, d.pos(prev))
			continue
		}
		if allowed != nil && !contains(allowed, k.Value) {
			d.errorf(d.pos(k), "unknown key %q in %s (allowed: %s)", k.Value, what, strings.Join(allowed, ", "))
			continue
		}
		f.keys[k.Value], f.vals[k.Value] = k, v
		f.order = append(f.order, k.Value)
	}
	return f
}

// require reports the keys missing from f.
func (d *decoder) require(n *yaml.Node, f *fields, what string, keys ...string) bool {
	ok := true
	for _, k := range keys {
		if f != nil && !f.has(k) {
			d.errorf(d.pos(n), "%s: missing required key %q", what, k)
			ok = false
		}
	}
	return ok && f != nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
		return "a string"
	}
	return "a YAML node"
}

// str decodes a scalar (any scalar but null) as a string.
func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Tag == "!!binary" {
		d.errorf(d.pos(n), "%s must be a string, got %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) integer(n *yaml.Node, what string) (int, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		var v int
		if err := n.Decode(&v); err == nil {
			return v, true
		}
	}
	d.errorf(d.pos(n), "%s must be an integer, got %s", what, kindName(n))
	return 0, false
}

func (d *decoder) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var v bool
		if err := n.Decode(&v); err == nil {
			return v, true
		}
	}
	d.errorf(d.pos(n), "%s must be true or false, got %s", what, kindName(n))
	return false, false
}

// duration decodes a positive Go duration ("90s", "24h") or a number of days ("7d").
func (d *decoder) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return 0, false
	}
	v, err := parseDuration(s)
	if err != nil || v <= 0 {
		d.errorf(d.pos(n), "%s: invalid duration %q (use e.g. 30s, 15m, 24h, 7d)", what, s)
		return 0, false
	}
	return v, true
}

func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 3650 {
			return 0, fmt.Errorf("bad days %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// strList decodes a list of scalars; a single scalar is a list of one.
func (d *decoder) strList(n *yaml.Node, what string) []string {
	if n.Kind == yaml.ScalarNode {
		s, ok := d.str(n, what)
		if !ok {
			return nil
		}
		return []string{s}
	}
	items := d.seq(n, what)
	out := make([]string, 0, len(items))
	for _, c := range items {
		if s, ok := d.str(c, what+" item"); ok {
			out = append(out, s)
		}
	}
	return out
}

// seq checks that n is a list and returns its items.
func (d *decoder) seq(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		d.errorf(d.pos(n), "%s must be a list, got %s", what, kindName(n))
		return nil
	}
	return n.Content
}

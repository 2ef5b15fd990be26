// Package schema holds the JSON Schemas (draft-07) of dmflow's two YAML
// formats: flow files (Flow) and conversation transcripts, *.test.yaml
// (Transcript). `dmflow schema` prints them; editors that speak
// yaml-language-server (VS Code's YAML extension, Neovim's yamlls,
// JetBrains IDEs) use them for completion, hover text and inline errors
// (docs/testing.md, "Editor support").
//
// Draft-07 is the newest draft yaml-language-server fully supports (its
// 2019-09/2020-12 support was added and then reverted), so the schemas use
// "definitions" and no later keywords.
//
// The schemas describe the shape of a document: which keys exist where,
// scalar types, enums, required keys. They reject every key the loaders
// reject (tests keep the key sets equal to the parsers' lists); what a
// schema cannot see — unknown target states, expression types, undeclared
// variables — is left to `dmflow validate`.
package schema

import (
	_ "embed"
	"fmt"
	"io"
	"sort"
)

//go:embed flow.schema.json
var flow []byte

//go:embed transcript.schema.json
var transcript []byte

// Flow returns the JSON Schema of a flow file.
func Flow() []byte { return clone(flow) }

// Transcript returns the JSON Schema of a transcript (*.test.yaml).
func Transcript() []byte { return clone(transcript) }

// Names lists the schemas Get knows.
func Names() []string {
	out := make([]string, 0, len(byName))
	for n := range byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var byName = map[string]func() []byte{"flow": Flow, "transcript": Transcript}

// Get returns the schema called name ("flow" or "transcript").
func Get(name string) ([]byte, error) {
	f, ok := byName[name]
	if !ok {
		return nil, fmt.Errorf("schema: unknown schema %q (want one of %v)", name, Names())
	}
	return f(), nil
}

// Write writes the schema called name to w.
func Write(w io.Writer, name string) error {
	b, err := Get(name)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

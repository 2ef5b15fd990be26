package flowtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// LoadMocks reads a file of mocks (chat --mock): a YAML mapping of action names to results,
// written like a transcript's `mock:` (the response body, or {outcome,
// status, body, error}).
func LoadMocks(path string) (map[string]*Mock, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(src)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil, &posError{File: path, Line: 1, Col: 1, Msg: "no mocks in file"}
	}
	p := &tparser{file: path}
	mocks := p.mocks(doc.Content[0])
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return mocks, nil
}

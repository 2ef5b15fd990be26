// Package schemacheck validates YAML documents against dmflow's JSON
// Schemas (flows/schema) with a real JSON Schema validator
// (santhosh-tekuri/jsonschema, draft-07), for tests: the examples, the
// loaders' bad documents and the key-set sync tests use it.
package schemacheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dmflow/dmflow/flows/schema"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// Compile compiles the schema called name ("flow" or "transcript"),
// checking it against the draft-07 meta-schema.
func Compile(name string) (*jsonschema.Schema, error) {
	src, err := schema.Get(name)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("%s schema: %w", name, err)
	}
	c := jsonschema.NewCompiler()
	url := name + ".schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// Raw returns the schema called name as decoded JSON.
func Raw(name string) (map[string]any, error) {
	src, err := schema.Get(name)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(src, &m)
}

// Docs decodes every YAML document of src into JSON values (what an editor's
// language server validates).
func Docs(src []byte) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var out []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		j, err := toJSON(v)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
}

// Validate checks every YAML document of src against sch.
func Validate(sch *jsonschema.Schema, src []byte) error {
	docs, err := Docs(src)
	if err != nil {
		return err
	}
	var errs []error
	for i, d := range docs {
		if err := sch.Validate(d); err != nil {
			errs = append(errs, fmt.Errorf("document %d: %w", i+1, err))
		}
	}
	return errors.Join(errs...)
}

// toJSON turns a yaml.v3 value into what encoding/json would decode: string
// keys, float64 numbers, RFC 3339 text for timestamps.
func toJSON(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			j, err := toJSON(e)
			if err != nil {
				return nil, err
			}
			out[k] = j
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			j, err := toJSON(e)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = j
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			j, err := toJSON(e)
			if err != nil {
				return nil, err
			}
			out[i] = j
		}
		return out, nil
	case time.Time:
		return v.Format(time.RFC3339Nano), nil
	case int:
		return json.Number(fmt.Sprint(v)), nil
	case int64:
		return json.Number(fmt.Sprint(v)), nil
	case uint64:
		return json.Number(fmt.Sprint(v)), nil
	case float64:
		return v, nil
	}
	return v, nil
}

// Command yamlverdicts prints what go-yaml v2 (the YAML reader of kubectl and the API server,
// through sigs.k8s.io/yaml) reads each of a list of plain scalars as: it reads a JSON array of
// strings on stdin, decodes each string as a YAML document of its own into an interface{}, and
// writes a JSON array of {"scalar", "kind", "value"} (kind: null, bool, int, float, timestamp,
// str, or other for anything that is not one scalar). scripts/record_go_yaml_verdicts.ts runs it
// to record tests/deploy/go_yaml_verdicts.json.
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"time"

	"gopkg.in/yaml.v2"
)

type verdict struct {
	Scalar string      `json:"scalar"`
	Kind   string      `json:"kind"`
	Value  interface{} `json:"value,omitempty"`
}

func classify(s string) verdict {
	var v interface{}
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return verdict{Scalar: s, Kind: "other", Value: err.Error()}
	}
	switch x := v.(type) {
	case nil:
		return verdict{Scalar: s, Kind: "null"}
	case bool:
		return verdict{Scalar: s, Kind: "bool", Value: x}
	case int:
		return verdict{Scalar: s, Kind: "int", Value: fmt.Sprint(x)}
	case int64:
		return verdict{Scalar: s, Kind: "int", Value: fmt.Sprint(x)}
	case uint64:
		return verdict{Scalar: s, Kind: "int", Value: fmt.Sprint(x)}
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return verdict{Scalar: s, Kind: "float", Value: fmt.Sprint(x)}
		}
		return verdict{Scalar: s, Kind: "float", Value: x}
	case time.Time:
		return verdict{Scalar: s, Kind: "timestamp", Value: x.Format(time.RFC3339Nano)}
	case string:
		return verdict{Scalar: s, Kind: "str", Value: x}
	default:
		return verdict{Scalar: s, Kind: "other", Value: fmt.Sprintf("%T", v)}
	}
}

func main() {
	var scalars []string
	if err := json.NewDecoder(os.Stdin).Decode(&scalars); err != nil {
		fmt.Fprintln(os.Stderr, "yamlverdicts: stdin is not a JSON array of strings:", err)
		os.Exit(2)
	}
	out := make([]verdict, 0, len(scalars))
	for _, s := range scalars {
		out = append(out, classify(s))
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "yamlverdicts:", err)
		os.Exit(1)
	}
}

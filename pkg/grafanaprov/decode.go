package grafanaprov

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a provisioning or dashboard file: the file, the path
// of the field at fault (e.g. groups[0].rules[1].condition) and, for YAML, the
// line. Messages never contain expanded values (they may be secrets).
type Error struct {
	File   string
	Path   string
	Line   int
	Reason string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Path != "" {
		b.WriteString(": ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Errors is every problem found in one check, in file order.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// errs collects problems; err() returns nil when there are none, so callers
// never see a non-nil error holding an empty list.
type errs struct {
	file string
	list Errors
}

func (c *errs) add(path string, line int, format string, args ...any) {
	c.list = append(c.list, &Error{File: c.file, Path: path, Line: line, Reason: fmt.Sprintf(format, args...)})
}

func (c *errs) err() error {
	if len(c.list) == 0 {
		return nil
	}
	return c.list
}

// decoder fills Go structs from a YAML node tree the way Grafana's provisioning
// reader does, but strictly: a key with no field is an error, and every scalar
// is expanded from the environment unless the field is tagged `prov:"raw"`
// (Grafana keeps those verbatim, e.g. rule annotations and query models).
type decoder struct {
	errs
	env func(string) string
}

func fieldPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// decodeFile parses YAML and decodes it into out, expanding variables when expand is set.
func decodeFile(path string, env func(string) string, expand bool, out any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return decodeBytes(path, data, env, expand, out)
}

func decodeBytes(name string, data []byte, env func(string) string, expand bool, out any) error {
	if env == nil {
		env = func(string) string { return "" }
	}
	d := &decoder{errs: errs{file: name}, env: env}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		d.add("", 0, "not valid YAML: %v", err)
		return d.err()
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		d.add("", 0, "is empty")
		return d.err()
	}
	d.value(root.Content[0], reflect.ValueOf(out).Elem(), "", expand)
	return d.err()
}

// scalar returns the node's text, expanded from the environment if asked.
func (d *decoder) scalar(n *yaml.Node, path string, expand bool) (string, bool) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		d.add(path, n.Line, "must be a single value, got a %s", kindName(n))
		return "", false
	}
	if !expand {
		return n.Value, true
	}
	v, err := Expand(n.Value, d.env)
	if err != nil {
		d.add(path, n.Line, "%v", err)
		return "", false
	}
	return v, true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "value"
	}
	return "node"
}

var rawJSONType = reflect.TypeOf(json.RawMessage(nil))

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, expand bool) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	// A YAML null leaves the zero value, as Grafana's reader does.
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.value(n, p.Elem(), path, expand)
		v.Set(p)
	case reflect.Struct:
		d.structValue(n, v, path, expand)
	case reflect.Slice:
		if v.Type() == rawJSONType {
			g := d.generic(n, path, expand)
			b, err := json.Marshal(g)
			if err != nil {
				d.add(path, n.Line, "cannot be written as JSON: %v", err)
				return
			}
			v.SetBytes(b)
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.add(path, n.Line, "must be a list, got a %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.value(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i), expand)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.add(path, n.Line, "must be a mapping, got a %s", kindName(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			e := reflect.New(v.Type().Elem()).Elem()
			d.value(n.Content[i+1], e, fieldPath(path, k), expand)
			m.SetMapIndex(reflect.ValueOf(k), e)
		}
		v.Set(m)
	case reflect.Interface:
		if g := d.generic(n, path, expand); g != nil {
			v.Set(reflect.ValueOf(g))
		}
	case reflect.String:
		if s, ok := d.scalar(n, path, expand); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		s, ok := d.scalar(n, path, expand)
		if !ok {
			return
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			d.add(path, n.Line, "must be true or false, got %q", safeText(n, expand))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		s, ok := d.scalar(n, path, expand)
		if !ok {
			return
		}
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			d.add(path, n.Line, "must be a whole number, got %q", safeText(n, expand))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		s, ok := d.scalar(n, path, expand)
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.add(path, n.Line, "must be a finite number, got %q", safeText(n, expand))
			return
		}
		v.SetFloat(f)
	default:
		panic("grafanaprov: unsupported field type " + v.Type().String())
	}
}

// safeText is what an error may quote: the text as written in the file, never
// the expanded value (it may come from a secret environment variable).
func safeText(n *yaml.Node, _ bool) string { return n.Value }

func (d *decoder) structValue(n *yaml.Node, v reflect.Value, path string, expand bool) {
	if n.Kind != yaml.MappingNode {
		d.add(path, n.Line, "must be a mapping, got a %s", kindName(n))
		return
	}
	t := v.Type()
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i]
		p := fieldPath(path, key.Value)
		if seen[key.Value] {
			d.add(p, key.Line, "is given twice")
			continue
		}
		seen[key.Value] = true
		idx, raw, ok := fieldByKey(t, key.Value)
		if !ok {
			d.add(p, key.Line, "unknown field (%s)", strings.Join(knownKeys(t), ", "))
			continue
		}
		d.value(n.Content[i+1], v.FieldByIndex(idx), p, expand && !raw)
	}
	if lf := v.FieldByName("Line"); lf.IsValid() && lf.Kind() == reflect.Int {
		lf.SetInt(int64(n.Line))
	}
}

// fieldByKey finds the field for a YAML key, looking into `yaml:",inline"`
// structs; raw is set when the field or an enclosing inline struct is `prov:"raw"`.
func fieldByKey(t reflect.Type, key string) (index []int, raw bool, ok bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		fraw := f.Tag.Get("prov") == "raw"
		if name == "" && opts == "inline" && f.Type.Kind() == reflect.Struct {
			if sub, sraw, found := fieldByKey(f.Type, key); found {
				return append([]int{i}, sub...), fraw || sraw, true
			}
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		if name == key {
			return []int{i}, fraw, true
		}
	}
	return nil, false, false
}

func knownKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" && opts == "inline" {
			keys = append(keys, knownKeys(f.Type)...)
		} else if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// generic decodes free-form YAML (jsonData, receiver settings, query models)
// into JSON-shaped Go values: map[string]any, []any, string, float64, bool, nil.
func (d *decoder) generic(n *yaml.Node, path string, expand bool) any {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			m[k] = d.generic(n.Content[i+1], fieldPath(path, k), expand)
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			s[i] = d.generic(c, fmt.Sprintf("%s[%d]", path, i), expand)
		}
		return s
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil
		case "!!bool":
			b, _ := strconv.ParseBool(n.Value)
			return b
		case "!!int", "!!float":
			f, err := strconv.ParseFloat(n.Value, 64)
			if err != nil {
				// YAML 1.1 forms such as 0x1F or .inf: keep the text.
				return n.Value
			}
			return f
		}
		s, _ := d.scalar(n, path, expand)
		return s
	}
	return nil
}

package config

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// nodeBudget bounds the nodes checkNode visits, so a document that expands
// aliases combinatorially is rejected instead of walked for minutes.
const nodeBudget = 1 << 20

var durationType = reflect.TypeOf(time.Duration(0))

// checker walks a parsed YAML tree against the Config struct, before the
// yaml decoder runs, to do what the decoder cannot: name the dotted path of
// every unknown key, duplicate key and wrongly typed value; reject bare
// integers for durations with a hint; and record the line of each path so
// Validate's errors can point into the file. Hand-written because
// yaml.v3's own errors name Go types ("field foo not found in type
// config.Fetch"), not YAML paths, and stop describing the value.
type checker struct {
	lines  map[string]int
	errs   []*Error
	active map[*yaml.Node]bool // mappings being walked, to stop merge-key cycles
	budget int
}

func newChecker() *checker {
	return &checker{lines: make(map[string]int), active: make(map[*yaml.Node]bool), budget: nodeBudget}
}

func (c *checker) fail(path string, line int, p *problem) {
	c.errs = append(c.errs, &Error{Field: path, Line: line, Err: p})
}

// value checks n as the YAML for a value of type t at path; a pointer type
// is checked as the type it points to.
func (c *checker) value(n *yaml.Node, path string, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if c.budget--; c.budget < 0 {
		if c.budget == -1 {
			c.fail(path, n.Line, newProblem(ErrSyntax, "document too large or too many aliases"))
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			c.fail(path, n.Line, newProblem(ErrSyntax, "unknown alias %q", n.Value))
			return
		}
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		if !nullValues[n.Value] {
			// Tagged !!null but holding text, which the decoder refuses.
			c.fail(path, n.Line, typeProblem("empty (it is tagged !!null)", n))
		}
		return // an empty value keeps the default
	}
	switch {
	case t == durationType:
		c.duration(n, path)
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			c.fail(path, n.Line, typeProblem("a mapping of keys", n))
			return
		}
		c.mapping(n, path, t)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.fail(path, n.Line, typeProblem("a list", n))
			return
		}
		for i, e := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			c.lines[p] = e.Line
			c.value(e, p, t.Elem())
		}
	default:
		c.scalar(n, path, t)
	}
}

// nullValues are the texts of a YAML null (yaml.v3's resolve table).
var nullValues = map[string]bool{"": true, "~": true, "null": true, "Null": true, "NULL": true}

// mapping checks the keys of n against the yaml tags of struct type t.
func (c *checker) mapping(n *yaml.Node, path string, t reflect.Type) {
	c.active[n] = true
	defer delete(c.active, n)

	fields := structFields(t)
	// Merged mappings ("<<: *base") first: explicit keys override them.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; isMerge(k) {
			c.merge(n.Content[i+1], path, t, k.Line)
		}
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			c.fail(path, k.Line, typeProblem("keys to be strings", k))
			continue
		}
		p := joinPath(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			c.fail(p, k.Line, newProblem(ErrDuplicateKey, "duplicate key, first given at line %d", first))
			continue
		}
		seen[k.Value] = k.Line
		if isMerge(k) {
			continue // merged above; a second "<<" is a duplicate key
		}
		ft, ok := fields[k.Value]
		if !ok {
			c.fail(p, k.Line, unknownKey(k.Value, path, t))
			continue
		}
		c.lines[p] = k.Line
		c.value(v, p, ft)
	}
}

// merge checks the value of a "<<" key: a mapping or a list of mappings,
// each merged into the struct at path.
// line is the line of the "<<" key.
func (c *checker) merge(v *yaml.Node, path string, t reflect.Type, line int) {
	if v.Kind == yaml.SequenceNode {
		for _, e := range v.Content {
			c.mergeOne(e, path, t, line)
		}
		return
	}
	c.mergeOne(v, path, t, line)
}

func (c *checker) mergeOne(v *yaml.Node, path string, t reflect.Type, line int) {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch {
	case v.Kind != yaml.MappingNode:
		c.fail(path, line, typeProblem("a mapping to merge", v))
	case c.active[v]:
		c.fail(path, line, newProblem(ErrSyntax, "merge key refers to its own mapping"))
	default:
		c.value(v, path, t)
	}
}

// duration accepts only Go duration strings that are not negative.
func (c *checker) duration(n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		c.fail(path, n.Line, typeProblem(`a duration such as "30s"`, n))
		return
	}
	switch n.ShortTag() {
	case "!!int":
		c.fail(path, n.Line, newProblem(ErrType,
			"bare number %s is not a duration; write it with a unit, e.g. \"%ss\"", n.Value, n.Value))
	case "!!str":
		d, err := time.ParseDuration(n.Value)
		switch {
		case err != nil:
			c.fail(path, n.Line, newProblem(ErrType,
				"invalid duration %q: write e.g. \"200ms\", \"30s\" or \"1h30m\"", n.Value))
		case d < 0:
			c.fail(path, n.Line, newProblem(ErrInvalid, "must not be negative, got %s", n.Value))
		}
	default:
		c.fail(path, n.Line, typeProblem(`a duration such as "30s"`, n))
	}
}

// scalar checks n decodes into a value of kind t (string, int, int64, bool).
// A string key takes any scalar but a boolean.
func (c *checker) scalar(n *yaml.Node, path string, t reflect.Type) {
	want := "a string"
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		want = "an integer"
	case reflect.Bool:
		want = "true or false"
	}
	if n.Kind != yaml.ScalarNode {
		c.fail(path, n.Line, typeProblem(want, n))
		return
	}
	if t.Kind() == reflect.String && n.ShortTag() == "!!bool" {
		// yaml.v3 decodes a boolean into a string as its text, so
		// "data_dir: true" meant the directory "true". Numbers keep the
		// text as written ("2024") and stay accepted.
		p := typeProblem(want, n)
		p.msg += fmt.Sprintf(" (a boolean; quote it to mean the text: %q)", n.Value)
		c.fail(path, n.Line, p)
		return
	}
	v := reflect.New(t)
	if err := n.Decode(v.Interface()); err != nil || want == "an integer" && !wholeNumber(n) {
		c.fail(path, n.Line, typeProblem(want, n))
		return
	}
	if want == "an integer" && n.Style == 0 && leadingZero.MatchString(n.Value) {
		// yaml.v3 reads 017 as octal (15), as YAML 1.1 did; YAML 1.2
		// and most readers take it for 17.
		p := typeProblem("an integer without a leading zero", n)
		p.msg += fmt.Sprintf(" (YAML 1.1 reads it as octal, %v)", v.Elem().Interface())
		c.fail(path, n.Line, p)
	}
}

// leadingZero matches the integers yaml.v3 reads as YAML 1.1 octal.
var leadingZero = regexp.MustCompile(`^[-+]?0[0-7_]+$`)

// wholeNumber reports whether a scalar decoded into an integer is one that
// fits an int64: yaml.v3 truncates a float such as 0.5 into an int, and
// turns -.inf and 2^63 into the smallest int64, where "1e6" is a whole
// number written as a float.
func wholeNumber(n *yaml.Node) bool {
	if n.ShortTag() != "!!float" {
		return true
	}
	var f float64
	return n.Decode(&f) == nil && f == math.Trunc(f) && f >= math.MinInt64 && f < -math.MinInt64
}

// typeProblem says what was expected and what was found.
func typeProblem(want string, n *yaml.Node) *problem {
	return newProblem(ErrType, "must be %s, got %s", want, describe(n))
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("%q", v)
	}
	return "an alias"
}

// unknownKey describes key, which struct type t at path does not define,
// suggesting a close known key.
func unknownKey(key, path string, t reflect.Type) *problem {
	msg := fmt.Sprintf("unknown key %q", key)
	if path != "" {
		msg += " in " + path
	}
	if s := suggest(key, t); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return &problem{kind: ErrUnknownKey, msg: msg, namesField: true}
}

// suggest returns the key of t closest to key, if it is close enough to be a
// likely typo: the same letters in another case, or an edit distance of at
// most one per three letters (and at most 2).
func suggest(key string, t reflect.Type) string {
	best, bestDist := "", min(len(key)/3, 2)+1
	for i := 0; i < t.NumField(); i++ {
		name := yamlName(t.Field(i))
		if strings.EqualFold(name, key) {
			return name
		}
		if d := editDistance(strings.ToLower(key), name, bestDist); d < bestDist {
			best, bestDist = name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit if it is
// at least limit (long keys are not compared in full).
func editDistance(a, b string, limit int) int {
	if len(a) > 64 || len(b) > 64 || abs(len(a)-len(b)) >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// structFields maps the yaml key of each field of struct type t to its type.
func structFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.IsExported() {
			m[yamlName(f)] = f.Type
		}
	}
	return m
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

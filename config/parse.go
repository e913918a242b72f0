package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Load reads and parses the YAML configuration file at path, as Parse does.
// Every *Error it returns carries path in File, so messages read
// "crawler.yaml:12: fetch.concurrency: must be >= 1"; a read error names
// the path too.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	c, _, errs := parse(data)
	if len(errs) > 0 {
		for _, e := range errs {
			e.File = path
		}
		return nil, joinErrors(errs)
	}
	return c, nil
}

// Parse returns Default overlaid with the YAML configuration in data, then
// validated. Decoding is strict: unknown keys, duplicate keys, values of the
// wrong type, and bare integers or negative values for durations are
// errors. Empty input (or only comments) yields the defaults. The error, if
// any, joins one *Error per problem found.
func Parse(data []byte) (*Config, error) {
	c, _, errs := parse(data)
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return c, nil
}

// parse does Parse's work and also returns the line of each dotted path
// present in data.
func parse(data []byte) (*Config, map[string]int, []*Error) {
	root, errs := parseDocument(data)
	if len(errs) > 0 {
		return nil, nil, errs
	}
	c := Default()
	c.Fetch.RobotsToken = "" // derived from the file's user_agent unless given
	lines := map[string]int{}
	if root != nil {
		ch := newChecker()
		ch.value(root, "", reflect.TypeOf(*c))
		if len(ch.errs) > 0 {
			return nil, nil, ch.errs
		}
		lines = ch.lines
		// The checker has vetted every key and value; the strict decoder
		// does the assignment and stays as a backstop.
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, yamlErrors(err, nil)
		}
	}
	c.applyDefaults()
	return c, lines, c.validate(lines)
}

// parseDocument parses data into a node tree and returns the root value of
// its single document, or nil when data holds no document or an empty one.
func parseDocument(data []byte) (*yaml.Node, []*Error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlErrors(err, data)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlErrors(err, data)
	default:
		return nil, []*Error{{Line: next.Line, Err: newProblem(ErrSyntax, "more than one YAML document")}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, nil
	}
	return root, nil
}

// yamlLine matches the position yaml.v3 puts in front of its messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlErrors converts an error from yaml.v3 into *Errors, moving its
// "line N:" into Error.Line. data is the input whose parsing failed, used to
// correct the lines yaml.v3 gives syntax errors: a syntax error it leaves
// without a line is on line 1 (unless unplaced says its message never has
// one), and a tab in the indentation is on the first line at or after the
// reported one with a tab in its leading whitespace. data is nil for an
// error from decoding input already parsed, whose lines are kept as they are.
func yamlErrors(err error, data []byte) []*Error {
	kind := ErrSyntax
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		kind, msgs = ErrType, te.Errors
	}
	errs := make([]*Error, 0, len(msgs))
	for _, msg := range msgs {
		e := &Error{}
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			msg = m[2]
		} else if kind == ErrSyntax {
			msg = trimYAMLPrefix(msg)
		}
		if kind == ErrSyntax && data != nil {
			switch {
			case parserProblems[msg]:
				// yaml.v3 adds 1 to the 0-based line of scanner errors
				// only, and leaves out line 0 of parser errors.
				e.Line++
			case e.Line == 0 && !unplaced(msg):
				// ...and of scanner errors too: 0 is left out, not
				// increased.
				e.Line = 1
			}
			if msg == tabProblem {
				// yaml.v3 gives the line where the plain scalar before
				// the tab started, often the previous key's value.
				e.Line = tabLine(data, e.Line)
			}
		}
		if kind == ErrSyntax {
			msg = "invalid YAML: " + msg
		}
		e.Err = &problem{kind: kind, msg: msg, cause: err}
		errs = append(errs, e)
	}
	return errs
}

// tabProblem is the message of yaml.v3's error for a tab in the
// indentation after a plain scalar.
const tabProblem = "found a tab character that violates indentation"

// tabLine returns the first line of data, from line on, whose leading
// whitespace holds a tab; line if there is none.
func tabLine(data []byte, line int) int {
	for i, l := range bytes.Split(data, []byte("\n")) {
		if n := i + 1; n >= line && bytes.IndexByte(l[:len(l)-len(bytes.TrimLeft(l, " \t"))], '\t') >= 0 {
			return n
		}
	}
	return line
}

// unplaced reports whether msg, a yaml.v3 syntax error without a line, is
// one that never has a position: its reader's (bad encoding, control
// characters; readerc.go) and an unknown anchor. Other such syntax errors
// are on line 1, which yaml.v3 leaves out.
func unplaced(msg string) bool {
	for _, p := range unplacedProblems {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// unplacedProblems begin the messages unplaced matches.
var unplacedProblems = []string{
	"unknown anchor ",
	"input error: ",
	"invalid leading UTF-8 octet",
	"invalid length of a UTF-8 sequence",
	"invalid trailing UTF-8 octet",
	"incomplete UTF-8 octet sequence",
	"invalid Unicode character",
	"control characters are not allowed",
	"incomplete UTF-16 character",
	"incomplete UTF-16 surrogate pair",
	"expected low surrogate area",
	"unexpected low surrogate area",
}

// parserProblems are the messages of the syntax errors yaml.v3's parser,
// rather than its scanner, reports (parserc.go).
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
	"found undefined tag handle":             true,
}

func trimYAMLPrefix(s string) string {
	const p = "yaml: "
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// applyDefaults fills what Default cannot know before the file is read:
// the robots token derived from the user agent, and each extract field's
// attr. It also turns empty lists into nil, so `seeds: []` and an absent
// key give the same Config.
func (c *Config) applyDefaults() {
	if c.Fetch.RobotsToken == "" {
		c.Fetch.RobotsToken = robotsToken(c.Fetch.UserAgent)
	}
	for i := range c.Extract {
		for j := range c.Extract[i].Fields {
			if f := &c.Extract[i].Fields[j]; f.Attr == "" {
				f.Attr = "text"
			}
		}
	}
	emptyToNil(&c.Seeds)
	emptyToNil(&c.Scope.AllowedHosts)
	emptyToNil(&c.Scope.Include)
	emptyToNil(&c.Scope.Exclude)
	emptyToNil(&c.Scope.StripQueryParams)
	emptyToNil(&c.Fetch.Headers)
	emptyToNil(&c.Fetch.HostLimits)
	for i := range c.Fetch.HostLimits {
		emptyToNil(&c.Fetch.HostLimits[i].Headers)
	}
	emptyToNil(&c.Extract)
}

// emptyToNil turns an empty list into nil.
func emptyToNil[T any](s *[]T) {
	if len(*s) == 0 {
		*s = nil
	}
}

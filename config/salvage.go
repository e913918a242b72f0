package config

import (
	"os"

	yaml "go.yaml.in/yaml/v3"
)

// Salvage returns the defaults with the data_dir and api.socket of the
// configuration file at path, for a file that Load refuses: the two keys
// that say where a running crawler answers, which keeps the configuration
// it last loaded when its file goes bad (a reload of a bad file is
// refused). It reads them as Load would, whatever else the file holds,
// and returns nil when the file cannot be read or is not YAML, or when
// either key is there but not a plain string. The result is not
// validated and is for finding the crawler only.
func Salvage(path string) *Config {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	root, errs := parseDocument(data)
	if len(errs) > 0 {
		return nil
	}
	c := Default()
	if root == nil {
		return c
	}
	for _, k := range []struct {
		path []string
		dst  *string
	}{{[]string{"data_dir"}, &c.DataDir}, {[]string{"api", "socket"}, &c.API.Socket}} {
		n := lookupNode(root, k.path...)
		if n == nil {
			continue
		}
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			return nil
		}
		*k.dst = n.Value
	}
	return c
}

// lookupNode returns the value under the keys of path in the mapping n,
// nested; nil when one is missing or n is not a mapping there. A key
// given twice (an error Load reports) is taken the first time.
func lookupNode(n *yaml.Node, path ...string) *yaml.Node {
	for _, key := range path {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content) && next == nil; i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

package config

import (
	"errors"
	"reflect"
	"testing"
)

func TestErrorFormat(t *testing.T) {
	cause := newProblem(ErrInvalid, "must be >= 1")
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"file and line", &Error{File: "crawler.yaml", Line: 12, Field: "fetch.concurrency", Err: cause},
			"crawler.yaml:12: fetch.concurrency: must be >= 1"},
		{"line only", &Error{Line: 12, Field: "fetch.concurrency", Err: cause},
			"line 12: fetch.concurrency: must be >= 1"},
		{"file without line", &Error{File: "c.yaml", Field: "fetch.concurrency", Err: cause},
			"c.yaml: fetch.concurrency: must be >= 1"},
		{"no position", &Error{Field: "fetch.concurrency", Err: cause}, "fetch.concurrency: must be >= 1"},
		{"no field", &Error{Line: 3, Err: newProblem(ErrSyntax, "invalid YAML: x")}, "line 3: invalid YAML: x"},
		{"message names field", &Error{Line: 5, Field: "fetch.foo", Err: unknownKey("foo", "fetch", reflect.TypeOf(Fetch{}))},
			`line 5: unknown key "foo" in fetch`},
		{"nil Err", &Error{Field: "a"}, "a: invalid configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorUnwrap(t *testing.T) {
	e := &Error{Field: "x", Err: newProblem(ErrType, "must be an integer")}
	if !errors.Is(e, ErrType) {
		t.Error("errors.Is(e, ErrType) = false")
	}
	if errors.Is(e, ErrInvalid) {
		t.Error("errors.Is(e, ErrInvalid) = true")
	}
	if joinErrors(nil) != nil {
		t.Error("joinErrors(nil) != nil")
	}
}

package config

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every problem Parse, Load and Validate report is an
// *Error whose Err matches exactly one of these with errors.Is.
var (
	// ErrSyntax reports input that is not well-formed YAML, or that holds
	// more than one YAML document.
	ErrSyntax = errors.New("invalid YAML")

	// ErrUnknownKey reports a mapping key that the configuration does not
	// define. Unknown keys are always errors so typos cannot go unnoticed.
	ErrUnknownKey = errors.New("unknown key")

	// ErrDuplicateKey reports a key given twice in the same mapping.
	ErrDuplicateKey = errors.New("duplicate key")

	// ErrType reports a value of the wrong YAML type for its field, such as
	// a list where a number is expected or a bare integer for a duration.
	ErrType = errors.New("wrong type")

	// ErrInvalid reports a well-typed value that is out of range or
	// inconsistent with another field.
	ErrInvalid = errors.New("invalid value")
)

// Error is one configuration problem, located by field and, when the
// configuration came from YAML, by line.
//
// Its message reads "crawler.yaml:12: fetch.concurrency: must be >= 1" when
// loaded from a file, "line 12: fetch.concurrency: must be >= 1" when parsed
// from bytes, and "fetch.concurrency: must be >= 1" when the field has no
// position (it was absent from the file, or the Config was built in code).
type Error struct {
	// File is the path given to Load; empty for Parse and Validate.
	File string
	// Field is the dotted YAML path of the offending value, for example
	// "fetch.concurrency" or "extract[0].fields[2].selector". Empty for
	// problems that belong to no field, such as syntax errors.
	Field string
	// Line is the 1-based line of the offending key or value; when it is
	// absent from the file, of the key it conflicts with, or else of the
	// list entry it is missing from; 0 = unknown.
	Line int
	// Err describes the problem; it matches one of the package's sentinel
	// errors with errors.Is.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	var p *problem
	if e.Field != "" && !(errors.As(e.Err, &p) && p.namesField) {
		b.WriteString(e.Field + ": ")
	}
	if e.Err == nil {
		b.WriteString("invalid configuration")
	} else {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// problem is the Err of every *Error this package makes: a message that
// matches a sentinel (kind) and optionally wraps an underlying cause, without
// repeating the sentinel's text in the message.
type problem struct {
	kind       error
	msg        string
	cause      error
	namesField bool // msg already names the field, so Error omits Field
}

func (p *problem) Error() string { return p.msg }

func (p *problem) Unwrap() []error {
	if p.cause == nil {
		return []error{p.kind}
	}
	return []error{p.kind, p.cause}
}

func newProblem(kind error, format string, args ...any) *problem {
	return &problem{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// joinErrors joins errs with errors.Join, or returns nil when there are none.
func joinErrors(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}

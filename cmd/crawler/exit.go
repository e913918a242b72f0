package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"crawler/api"
	"crawler/config"
	"crawler/store"
)

// Exit codes: the one place errors become them.
const (
	exitOK       = 0 // success
	exitNotFound = 1 // not found / no results
	exitUsage    = 2 // usage or config error
	exitData     = 3 // cannot reach the data: locked, missing, corrupt, unwritable
	exitFailure  = 4 // the crawl itself failed (store write error)
)

// errNotFound marks "nothing matched" answers (exit 1).
var errNotFound = errors.New("not found")

// usageError marks a wrong command line (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErr(err error) error { return usageError{err} }

// dataError marks a data_dir that cannot be used (exit 3).
type dataError struct{ err error }

func (e dataError) Error() string { return e.err.Error() }
func (e dataError) Unwrap() error { return e.err }

// exitCode prints err as one line that says what to do, and maps it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	msg := err.Error()
	code := exitFailure
	var ue usageError
	var de dataError
	var ce *config.Error
	switch {
	case errors.Is(err, errNotFound):
		code = exitNotFound
	case errors.As(err, &ue), strings.HasPrefix(msg, "unknown command"), strings.HasPrefix(msg, "unknown flag"),
		strings.HasPrefix(msg, "unknown shorthand flag"), strings.Contains(msg, "arg(s)"),
		strings.HasPrefix(msg, "required flag"), strings.HasPrefix(msg, "invalid argument"):
		code = exitUsage
		msg += " (see crawler --help)"
	case errors.As(err, &ce):
		code = exitUsage
		msg = "config: " + msg
	case errors.Is(err, store.ErrLocked):
		code = exitData
		msg += "; stop the running crawler first, or query it through its socket"
	case errors.Is(err, store.ErrMissing):
		code = exitData
		msg += "; run `crawler run` first, or check data_dir in the config"
	case errors.Is(err, store.ErrCorrupt):
		code = exitData
		msg += "; the file was left untouched: move it aside to start a new crawl"
	case errors.As(err, &de):
		code = exitData
	case errors.Is(err, api.ErrNoAnswer):
		code = exitData
		msg += "; the daemon may be stuck: see its log, or stop it (SIGTERM) and query the file"
	case errors.Is(err, api.ErrNoDaemon):
		// It answered when the command started, and stopped since.
		code = exitData
		msg += "; the daemon stopped meanwhile: run the command again to read the file"
	}
	fmt.Fprintln(stderr, "crawler:", msg)
	return code
}

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

// settingError marks a config value the loader accepted but the daemon
// cannot use (an address in use, a socket path too long): exit 2, like
// a config the loader refused, and without the usage hint.
type settingError struct{ err error }

func (e settingError) Error() string { return e.err.Error() }
func (e settingError) Unwrap() error { return e.err }

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
	var se settingError
	hint := dataHint(err)
	switch {
	case errors.Is(err, errNotFound):
		code = exitNotFound
	case errors.As(err, &ue), strings.HasPrefix(msg, "unknown command"), strings.HasPrefix(msg, "unknown flag"),
		strings.HasPrefix(msg, "unknown shorthand flag"), strings.Contains(msg, "arg(s)"),
		strings.HasPrefix(msg, "required flag"), strings.HasPrefix(msg, "invalid argument"):
		code = exitUsage
		msg += " (see crawler --help)"
	case errors.As(err, &ce), errors.As(err, &se):
		code = exitUsage
		msg = "config: " + msg
	case hint != "":
		code, msg = exitData, msg+"; "+hint
	case errors.As(err, &de):
		code = exitData
	}
	fmt.Fprintln(stderr, "crawler:", msg)
	return code
}

// dataErrors are the errors that leave the data out of reach (exit 3),
// each with what to do, in the order they are tested.
var dataErrors = []struct {
	err  error
	hint string
}{
	{store.ErrLocked, "stop the running crawler first, or query it through its socket"},
	{store.ErrMissing, "run `crawler run` first, or check data_dir in the config"},
	{store.ErrCorrupt, "the file was left untouched: move it aside to start a new crawl"},
	{store.ErrBackupExists, "back up into a new or empty directory; the one there was left untouched"},
	{store.ErrBackupOutput, "back up into a directory this user can write to, with room for the crawl; the crawl was not touched"},
	{api.ErrNoAnswer, "the daemon may be stuck: see its log, or stop it (SIGTERM) and query the file"},
	// It answered when the command started, and stopped since, before
	// the request or while answering it.
	{api.ErrNoDaemon, hintDaemonGone},
	{api.ErrStopping, hintDaemonGone},
}

const hintDaemonGone = "the daemon stopped meanwhile: run the command again to read the file"

// hintNoAnswerOnSocket is what to do when the file is locked and nothing
// answers on the config's socket: the lock's holder is a daemon listening
// elsewhere or stuck, or a verb that writes the file.
const hintNoAnswerOnSocket = "check that api.socket is the running crawler's, see its log if it is stuck (or stop it with SIGTERM), or wait for a crawler compact to finish"

// dataHint returns what to do about err when it is one of dataErrors,
// else "".
func dataHint(err error) string {
	for _, d := range dataErrors {
		if errors.Is(err, d.err) {
			return d.hint
		}
	}
	return ""
}

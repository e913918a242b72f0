package config

import (
	"errors"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// configErrors returns the *Errors joined in err, failing the test if err
// holds anything else.
func configErrors(t *testing.T, err error) []*Error {
	t.Helper()
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]*Error, 0, len(errs))
	for _, e := range errs {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Fatalf("error %q (%T) is not a *config.Error", e, e)
		}
		out = append(out, ce)
	}
	return out
}

// findError returns the *Error in err for field, or nil.
func findError(t *testing.T, err error, field string) *Error {
	t.Helper()
	for _, e := range configErrors(t, err) {
		if e.Field == field {
			return e
		}
	}
	return nil
}

package api

import (
	"context"
	"errors"
	"net/http"

	"crawler/store"
)

// wireError carries an error across the socket: its message, and a code
// naming the sentinel it matched, so that errors.Is works the same on
// both sides.
type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes and the sentinels they stand for.
var wireCodes = []struct {
	code   string
	err    error
	status int
}{
	{"not_found", store.ErrNotFound, http.StatusNotFound},
	{"invalid", ErrInvalid, http.StatusBadRequest},
	{"too_large", ErrTooLarge, http.StatusRequestEntityTooLarge},
	{"read_only", store.ErrReadOnly, http.StatusConflict},
	{"backup_exists", store.ErrBackupExists, http.StatusConflict},
	{"backup_output", store.ErrBackupOutput, http.StatusInternalServerError},
	{"corrupt", store.ErrCorrupt, http.StatusInternalServerError},
	{"stopping", ErrStopping, http.StatusServiceUnavailable},
	{"canceled", context.Canceled, http.StatusServiceUnavailable},
	{"deadline", context.DeadlineExceeded, http.StatusGatewayTimeout},
}

func toWire(err error) *wireError {
	for _, c := range wireCodes {
		if errors.Is(err, c.err) {
			return &wireError{Code: c.code, Message: err.Error()}
		}
	}
	return &wireError{Code: "internal", Message: err.Error()}
}

func (we *wireError) status() int {
	for _, c := range wireCodes {
		if c.code == we.Code {
			return c.status
		}
	}
	return http.StatusInternalServerError
}

// err rebuilds the error on the client side: the daemon's message,
// matching the daemon's sentinel.
func (we *wireError) err() error {
	for _, c := range wireCodes {
		if c.code == we.Code {
			return &remoteError{msg: we.Message, err: c.err}
		}
	}
	return &remoteError{msg: we.Message}
}

// remoteError is an error the daemon returned.
type remoteError struct {
	msg string
	err error // sentinel; nil when none
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.err }

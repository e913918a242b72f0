package fetcher

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// classify maps err to a Kind. parent is the caller's context and reqCtx the
// per-request context carrying Options.Timeout; fallback is used when
// nothing more specific matches.
//
// Hand-written because net/http reports most failures as unexported or
// plain-string errors; the checks go from most to least specific.
func classify(parent, reqCtx context.Context, err error, fallback Kind) Kind {
	var netErr net.Error
	switch {
	case errors.Is(err, ErrBlockedAddress):
		return KindBlocked
	case errors.Is(parent.Err(), context.Canceled):
		return KindCanceled
	case errors.Is(err, ErrBodyMemory):
		return KindBodyMemory // a deadline ran out on a wait of our own, not on the server
	case parent.Err() != nil, reqCtx.Err() != nil:
		return KindTimeout // a deadline expired: the caller's or Options.Timeout
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return KindTimeout
	case errors.As(err, &netErr) && netErr.Timeout():
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case isTLSError(err):
		return KindTLS
	case isNetworkError(err):
		return KindNetwork
	default:
		return fallback
	}
}

// isTLSError reports handshake and certificate failures.
func isTLSError(err error) bool {
	var (
		verifyErr    *tls.CertificateVerificationError
		recordErr    tls.RecordHeaderError
		alertErr     tls.AlertError
		unknownAuth  x509.UnknownAuthorityError
		hostnameErr  x509.HostnameError
		invalidCert  x509.CertificateInvalidError
		opErr        *net.OpError
		echRejection *tls.ECHRejectionError
	)
	switch {
	case errors.As(err, &verifyErr), errors.As(err, &recordErr), errors.As(err, &alertErr),
		errors.As(err, &unknownAuth), errors.As(err, &hostnameErr), errors.As(err, &invalidCert),
		errors.As(err, &echRejection):
		return true
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		return true // crypto/tls reports alerts from the peer this way
	}
	return false
}

// isNetworkError reports connection-level failures: DNS, dial, reset and
// early EOF, and their HTTP/2 forms (see isHTTP2Abort).
func isNetworkError(err error) bool {
	var (
		opErr  *net.OpError
		dnsErr *net.DNSError
		errno  syscall.Errno
	)
	return errors.As(err, &opErr) || errors.As(err, &dnsErr) || errors.As(err, &errno) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		isHTTP2Abort(err)
}

// isHTTP2Abort reports a response aborted by an HTTP/2 server: a stream it
// reset (RST_STREAM), or a GOAWAY after which it closed the connection.
// Over HTTP/1.1 the same abort is a connection reset or an early EOF, and
// it must be classified alike.
//
// net/http's HTTP/2 error types are unexported, so they are matched as
// follows. A stream error has an As method that fills any struct with the
// same field names and convertible types (net/http provides it so that
// errors.As works with golang.org/x/net/http2.StreamError); h2StreamError
// is such a struct, which spares importing x/net/http2 for one type. Only
// resets received from the peer count: the transport makes stream errors
// of its own (code PROTOCOL_ERROR or FLOW_CONTROL_ERROR) when the server
// sends malformed headers or frames, and that is broken HTTP. The peer's
// resets carry net/http's errFromPeer sentinel as their Cause, unexported
// too, so it is recognised by its text. A GOAWAY error has neither an As
// method nor a sentinel, so it is recognised by its text, "http2: server
// sent GOAWAY and closed the connection; ..." (the transport's other
// GOAWAY error, "http2: Transport received Server's graceful shutdown
// GOAWAY", matches too). Should a Go release change these texts,
// TestFetchHTTP2StreamResetIsNetwork and TestFetchHTTP2GoAwayIsNetwork
// fail.
func isHTTP2Abort(err error) bool {
	var se h2StreamError
	if errors.As(err, &se) {
		return se.Cause != nil && se.Cause.Error() == "received from peer"
	}
	msg := err.Error()
	return strings.Contains(msg, "http2: ") && strings.Contains(msg, "GOAWAY")
}

// h2StreamError receives net/http's HTTP/2 stream error through its As
// method (see isHTTP2Abort); the field names and types must stay those of
// golang.org/x/net/http2.StreamError.
type h2StreamError struct {
	StreamID uint32
	Code     uint32
	Cause    error
}

func (e h2StreamError) Error() string { return fmt.Sprintf("stream error: stream ID %d", e.StreamID) }

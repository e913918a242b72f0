package fetcher

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
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
// early EOF.
func isNetworkError(err error) bool {
	var (
		opErr  *net.OpError
		dnsErr *net.DNSError
		errno  syscall.Errno
	)
	return errors.As(err, &opErr) || errors.As(err, &dnsErr) || errors.As(err, &errno) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

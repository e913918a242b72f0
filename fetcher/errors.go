package fetcher

import (
	"errors"
	"fmt"
)

// ErrBlockedAddress is wrapped by every [KindBlocked] error: the destination
// resolved to an address that is not allowed (loopback, private, link-local,
// unique-local, CGNAT, unspecified, multicast or another special-purpose
// range) while [Options.AllowPrivateAddresses] was false.
var ErrBlockedAddress = errors.New("destination address is not allowed (private, loopback or link-local)")

// ErrBodyMemory is wrapped by every [KindBodyMemory] error: the body could
// not get memory from [Options.BodyMemory] in time.
var ErrBodyMemory = errors.New("waiting for body memory (fetch.body_memory)")

// ErrUnsupportedScheme is wrapped by [KindInvalidURL] errors for URLs whose
// scheme is neither http nor https.
var ErrUnsupportedScheme = errors.New("unsupported URL scheme")

// ErrInvalidURL is wrapped by [KindInvalidURL] errors for a missing URL or a
// URL without a host.
var ErrInvalidURL = errors.New("invalid URL")

// Kind classifies why a fetch failed.
type Kind int

const (
	// KindInvalidURL: the request was refused before any network activity
	// (nil URL, no host, scheme other than http or https).
	KindInvalidURL Kind = iota + 1
	// KindNetwork: the connection failed: DNS failure, connection refused,
	// connection reset, or the peer closed the connection early (EOF before
	// the response or in the middle of the body). Over HTTP/2 the same
	// aborts arrive as a stream reset by the server (RST_STREAM) or a
	// GOAWAY after which it closed the connection, and are KindNetwork too.
	KindNetwork
	// KindTimeout: [Options.Timeout] or a deadline on the caller's context
	// expired, before or while reading the body.
	KindTimeout
	// KindCanceled: the caller's context was canceled.
	KindCanceled
	// KindBlocked: the destination address is not allowed; the error wraps
	// [ErrBlockedAddress]. No request reached the destination.
	KindBlocked
	// KindTLS: the TLS handshake or certificate verification failed.
	KindTLS
	// KindProtocol: the server spoke broken HTTP (malformed status line or
	// headers, headers larger than 64 KiB, HTTP/2 frames the transport
	// rejects) or sent a body whose Content-Encoding could not be decoded.
	KindProtocol
	// KindBodyRead: reading the body failed for a reason not covered by a
	// more specific kind.
	KindBodyRead
	// KindBodyMemory: the server answered, but its body could not get
	// memory from [Options.BodyMemory] before Options.Timeout or the
	// caller's deadline (other bodies held it), or could not wait for it
	// without risking a deadlock. Nothing is known to be wrong with the
	// server: the failure is the client's own back-pressure, and fetching
	// again once memory is free may well succeed. The error wraps
	// [ErrBodyMemory]; a wait the caller cancels is KindCanceled.
	KindBodyMemory
)

// String returns the lowercase name used in error messages, e.g. "timeout".
func (k Kind) String() string {
	switch k {
	case KindInvalidURL:
		return "invalid url"
	case KindNetwork:
		return "network"
	case KindTimeout:
		return "timeout"
	case KindCanceled:
		return "canceled"
	case KindBlocked:
		return "blocked"
	case KindTLS:
		return "tls"
	case KindProtocol:
		return "protocol"
	case KindBodyRead:
		return "body read"
	case KindBodyMemory:
		return "body memory"
	default:
		return fmt.Sprintf("kind(%d)", int(k))
	}
}

// Error is the only error type returned by [Client.Fetch].
type Error struct {
	// URL is the requested URL as a string.
	URL string
	// Kind classifies the failure.
	Kind Kind
	// Err is the underlying cause (never nil for errors built by this
	// package).
	Err error
}

// Error formats as "fetch <url>: <kind>: <cause>", for example
// "fetch http://x/: timeout: context deadline exceeded".
func (e *Error) Error() string {
	return fmt.Sprintf("fetch %s: %s: %v", e.URL, e.Kind, e.Err)
}

// Unwrap returns the underlying cause, so errors.Is(err, ErrBlockedAddress)
// and errors.Is(err, context.DeadlineExceeded) work through an *Error.
func (e *Error) Unwrap() error { return e.Err }

package urlnorm

import (
	"errors"
	"fmt"

	werrors "github.com/nlnwa/whatwg-url/errors"
)

// These errors are returned (wrapped) by Parse and Resolve. Match them with
// errors.Is.
var (
	// ErrEmpty is returned when the input is empty or only whitespace and
	// control characters.
	ErrEmpty = errors.New("empty URL")

	// ErrScheme is returned when the URL has no scheme, or a scheme other
	// than http or https (mailto:, javascript:, tel:, data:, ftp:, ...).
	// Link extractors treat it as "not a crawlable link", not as a defect.
	ErrScheme = errors.New("scheme is not http or https")

	// ErrNoHost is returned when an http(s) URL has an empty host.
	ErrNoHost = errors.New("missing host")

	// ErrHost is returned when the host is not a valid domain name or IP
	// address: IDNA failure, a malformed IPv4 or IPv6 literal, or characters
	// no DNS name can contain.
	ErrHost = errors.New("invalid host")

	// ErrTooLong is returned when the input or the canonical form is longer
	// than MaxLength bytes, or the input has more than MaxSegments path
	// segments.
	ErrTooLong = errors.New("URL too long")

	// ErrSyntax is returned for every other malformed URL: an invalid or out
	// of range port, an empty or oversized userinfo, a form net/url cannot
	// represent.
	ErrSyntax = errors.New("malformed URL")
)

// classify maps a WHATWG parser failure onto this package's sentinels.
func classify(err error) error {
	t := werrors.Type(err)
	var sentinel error
	switch t {
	case werrors.MissingSchemeNonRelativeURL:
		sentinel = ErrScheme
	case werrors.HostMissing:
		sentinel = ErrNoHost
	case werrors.DomainToASCII, werrors.DomainToUnicode, werrors.DomainInvalidCodePoint,
		werrors.HostInvalidCodePoint,
		werrors.IPv4EmptyPart, werrors.IPv4TooManyParts, werrors.IPv4NonNumericPart,
		werrors.IPv4NonDecimalPart, werrors.IPv4OutOfRangePart,
		werrors.IPv6Unclosed, werrors.IPv6InvalidCompression, werrors.IPv6TooManyPieces,
		werrors.IPv6MultipleCompression, werrors.IPv6InvalidCodePoint, werrors.IPv6TooFewPieces,
		werrors.IPv4InIPv6TooManyPieces, werrors.IPv4InIPv6InvalidCodePoint,
		werrors.IPv4InIPv6OutOfRangePart, werrors.IPv4InIPv6TooFewParts:
		sentinel = ErrHost
	default:
		sentinel = ErrSyntax
	}
	if t == "" {
		return sentinel
	}
	return fmt.Errorf("%w: %s", sentinel, t)
}

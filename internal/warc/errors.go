package warc

import "errors"

// Errors returned by Reader.Next.
var (
	// ErrFormat reports bytes that are not a WARC 1.1 record in its own
	// gzip member: a bad version line or header, a Content-Length that
	// does not match the block, a missing record terminator, or two
	// records in one member.
	ErrFormat = errors.New("malformed WARC record")

	// ErrDigest reports a WARC-Block-Digest or WARC-Payload-Digest that
	// does not match the record's bytes.
	ErrDigest = errors.New("WARC digest mismatch")
)

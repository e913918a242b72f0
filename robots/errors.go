package robots

import "errors"

// These errors can be returned by Fetch.
var (
	// ErrInvalidOrigin is returned by Fetch when the origin is nil, has no
	// host, or its scheme is not http or https. The Rules returned with it
	// disallow everything.
	ErrInvalidOrigin = errors.New("invalid robots.txt origin")
)

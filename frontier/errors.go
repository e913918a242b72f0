package frontier

import "errors"

var (
	// ErrClosed is returned by Next, Commit and Add once the queue is
	// closed or the writer has failed.
	ErrClosed = errors.New("frontier closed")

	// ErrCorrupt is returned when a queue entry or URL record cannot be
	// decoded.
	ErrCorrupt = errors.New("frontier record corrupt")
)

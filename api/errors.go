package api

import "errors"

// Errors returned by Queriers, on both sides of the socket. A Client also
// returns store.ErrNotFound and store.ErrCorrupt when the daemon did.
var (
	// ErrInvalid reports a request that can never succeed as given: a
	// URL that is not crawlable, or a malformed filter.
	ErrInvalid = errors.New("invalid request")

	// ErrNoDaemon is returned by Client methods when nothing accepts
	// connections on the socket: no daemon is running there.
	ErrNoDaemon = errors.New("no crawler daemon answers on the socket")

	// ErrNoAnswer is returned by a Client's single-answer methods (Ping,
	// GetPage, Stats, AddSeeds) when the daemon accepted the request but
	// did not answer within ClientOptions.CallTimeout: it is stuck or
	// overloaded.
	ErrNoAnswer = errors.New("the daemon accepted the request but did not answer in time")

	// ErrStopping is returned by Client methods when the daemon stopped
	// while answering: its answer is incomplete, and the request may have
	// been done in part.
	ErrStopping = errors.New("the daemon is shutting down")

	// ErrSocketInUse is returned by Listen when another process already
	// serves the socket path.
	ErrSocketInUse = errors.New("socket already in use by a running process")

	// ErrTooLarge reports a request larger than the daemon reads. A
	// Client splits long lists over several requests, so it stays under
	// the limit.
	ErrTooLarge = errors.New("request too large")

	// ErrProtocol reports an answer from the daemon that is not what this
	// client expects: a stream cut short, or a malformed line.
	ErrProtocol = errors.New("unexpected answer from the daemon")
)

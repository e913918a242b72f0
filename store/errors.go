package store

import "errors"

// These errors can be returned by Open.
var (
	// ErrLocked is returned when another process holds the database file:
	// a running daemon, or a CLI reading it. bbolt's flock forbids even a
	// read-only open while the daemon runs, so callers should use the
	// daemon's control socket instead.
	ErrLocked = errors.New("database is locked by another process (is `crawler run` running?)")

	// ErrCorrupt is returned when the file exists but is not a valid crawl
	// database: not a bbolt file, truncated, a checksum mismatch, or a
	// schema this binary does not understand. The file is never replaced.
	ErrCorrupt = errors.New("database file is corrupt or not a crawl database")

	// ErrMissing is returned by a read-only Open when there is no database
	// file yet (nothing has been crawled into this data_dir).
	ErrMissing = errors.New("no crawl database here yet")

	// ErrBackupExists is returned by Backup when its directory already
	// holds a database or value log, or another backup is writing one
	// into it: a backup never overwrites one.
	ErrBackupExists = errors.New("the backup directory already holds a crawl database")

	// ErrBackupOutput is returned by Backup, wrapping the system's error,
	// when the backup directory cannot be made or written: permissions, no
	// space, a file in the way. The crawl's own files are untouched and
	// the partial copies removed.
	ErrBackupOutput = errors.New("cannot write the backup")
)

// These errors can be returned by transactions.
var (
	// ErrNotFound is returned when a page is not stored.
	ErrNotFound = errors.New("not found")

	// ErrReadOnly is returned by write methods on a read-only transaction.
	ErrReadOnly = errors.New("transaction is read-only")
)

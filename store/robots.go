package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"
)

// RobotsFile is a robots.txt response as the crawl keeps it, one per
// origin: when it was fetched, its final status and, for a 2xx, its body
// (see robots.FetchFile). The file is kept rather than its rules so that
// they are parsed again when it is read, for the robots token then in
// force.
type RobotsFile struct {
	Fetched time.Time
	Status  int    // final HTTP status, 0 to 65535
	Body    []byte // nil or empty: none
	// Refetch asks the crawl to fetch robots.txt again before it uses
	// this copy as it is, however recent; the copy still serves as a
	// stale one if that fetch finds robots.txt unreachable. ExpireRobots
	// sets it; the next file put for the origin clears it.
	Refetch bool
}

// A robots record is robotsVersion, the fetch time (Unix nanoseconds, 8
// bytes big-endian), the status (2 bytes big-endian), then the body
// compressed like page bodies (nothing when there is none). A record with
// Refetch set is robotsRefetch instead of robotsVersion, with the same
// layout: files without it stay readable by versions that know only
// robotsVersion.
const (
	robotsVersion = 1
	robotsRefetch = 2
	robotsHeader  = 1 + 8 + 2
)

// PutRobots stores f as origin's robots.txt file, replacing the one stored
// before. It compresses the body inside the transaction: robots.txt files
// are small and written once a day per origin.
func (tx *Tx) PutRobots(origin string, f *RobotsFile) error {
	if !tx.btx.Writable() {
		return ErrReadOnly
	}
	if f.Status < 0 || f.Status > 0xffff {
		return fmt.Errorf("put robots.txt of %s: status %d out of range", origin, f.Status)
	}
	v := make([]byte, robotsHeader, robotsHeader+len(f.Body)/3+64)
	v[0] = robotsVersion
	if f.Refetch {
		v[0] = robotsRefetch
	}
	binary.BigEndian.PutUint64(v[1:], uint64(f.Fetched.UnixNano()))
	binary.BigEndian.PutUint16(v[9:], uint16(f.Status))
	if len(f.Body) > 0 {
		v = tx.db.enc.EncodeAll(f.Body, v)
	}
	if err := tx.btx.Bucket(bucketRobots).Put([]byte(origin), v); err != nil {
		return fmt.Errorf("put robots.txt of %s: %w", origin, err)
	}
	return nil
}

// Robots returns origin's stored robots.txt file, or ErrNotFound.
func (tx *Tx) Robots(origin string) (*RobotsFile, error) {
	b := tx.btx.Bucket(bucketRobots)
	if b == nil { // a file from before the bucket, opened read-only
		return nil, ErrNotFound
	}
	v := b.Get([]byte(origin))
	if v == nil {
		return nil, ErrNotFound
	}
	f, err := decodeRobots(v, tx.db.dec)
	if err != nil {
		return nil, fmt.Errorf("robots.txt of %s: %w", origin, err)
	}
	return f, nil
}

// EachRobots calls fn with every stored robots.txt file and its origin, in
// origin order, in one pass over the bucket; a file that does not decode
// comes with its error (wrapping ErrCorrupt) and a nil file. fn's error
// stops it and is returned. fn must not write to tx.
func (tx *Tx) EachRobots(fn func(origin string, f *RobotsFile, err error) error) error {
	b := tx.btx.Bucket(bucketRobots)
	if b == nil { // a file from before the bucket, opened read-only
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		f, err := decodeRobots(v, tx.db.dec)
		if err != nil {
			err = fmt.Errorf("robots.txt of %s: %w", k, err)
		}
		return fn(string(k), f, err)
	})
}

// ExpireRobots marks origin's stored robots.txt file, if there is one,
// to be fetched again before it is used as it is (RobotsFile.Refetch).
// It reports whether there was a file to mark.
func (tx *Tx) ExpireRobots(origin string) (bool, error) {
	if !tx.btx.Writable() {
		return false, ErrReadOnly
	}
	b := tx.btx.Bucket(bucketRobots)
	if b == nil {
		return false, nil
	}
	v := b.Get([]byte(origin))
	switch {
	case v == nil:
		return false, nil
	case !isRobotsRecord(v):
		return false, fmt.Errorf("robots.txt of %s: malformed record (%d bytes): %w", origin, len(v), ErrCorrupt)
	case v[0] == robotsRefetch:
		return true, nil
	}
	marked := bytes.Clone(v) // v is bbolt's, read-only
	marked[0] = robotsRefetch
	if err := b.Put([]byte(origin), marked); err != nil {
		return false, fmt.Errorf("expire robots.txt of %s: %w", origin, err)
	}
	return true, nil
}

// isRobotsRecord reports whether v has a robots record's header.
func isRobotsRecord(v []byte) bool {
	return len(v) >= robotsHeader && (v[0] == robotsVersion || v[0] == robotsRefetch)
}

// DeleteRobotsBefore deletes the stored robots.txt files fetched before t
// and returns how many it deleted. A record too damaged to tell its fetch
// time is left for crawler check to report.
func (tx *Tx) DeleteRobotsBefore(t time.Time) (int, error) {
	if !tx.btx.Writable() {
		return 0, ErrReadOnly
	}
	b := tx.btx.Bucket(bucketRobots)
	if b == nil {
		return 0, nil
	}
	var old [][]byte
	_ = b.ForEach(func(k, v []byte) error {
		if isRobotsRecord(v) && time.Unix(0, int64(binary.BigEndian.Uint64(v[1:]))).Before(t) {
			old = append(old, bytes.Clone(k))
		}
		return nil
	})
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return 0, fmt.Errorf("delete robots.txt of %s: %w", k, err)
		}
	}
	return len(old), nil
}

// decodeRobots decodes a robots record; a malformed one is ErrCorrupt.
func decodeRobots(v []byte, dec *zstd.Decoder) (*RobotsFile, error) {
	if !isRobotsRecord(v) {
		return nil, fmt.Errorf("malformed record (%d bytes): %w", len(v), ErrCorrupt)
	}
	f := &RobotsFile{
		Fetched: time.Unix(0, int64(binary.BigEndian.Uint64(v[1:]))),
		Status:  int(binary.BigEndian.Uint16(v[9:])),
		Refetch: v[0] == robotsRefetch,
	}
	if len(v) > robotsHeader {
		body, err := dec.DecodeAll(v[robotsHeader:], nil)
		if err != nil {
			return nil, fmt.Errorf("decode body: %v: %w", err, ErrCorrupt)
		}
		f.Body = body
	}
	return f, nil
}

// checkRobots verifies that every stored robots.txt file decodes.
func checkRobots(tx *bolt.Tx, dec *zstd.Decoder) error {
	b := tx.Bucket(bucketRobots)
	if b == nil {
		return nil
	}
	var errs []error
	_ = b.ForEach(func(k, v []byte) error {
		if _, err := decodeRobots(v, dec); err != nil && len(errs) < 100 {
			errs = append(errs, fmt.Errorf("robots.txt of %s: %w", k, err))
		}
		return nil
	})
	return errors.Join(errs...)
}

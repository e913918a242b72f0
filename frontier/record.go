package frontier

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"time"
)

// Bucket names owned by this package, in the store's bbolt file.
var (
	bucketSeen    = []byte("seen")     // seenKey(url) -> urlRecord: the seen-set and each URL's state
	bucketURLs    = []byte("urls")     // url -> urlRecord: the seen-set of older files, migrated to seen at Open
	bucketQueue   = []byte("queue")    // host 0x00 depth(4) seq(8) -> entry: per-host FIFO, breadth-first
	bucketDelayed = []byte("delayed")  // notBefore(8) seq(8) -> host 0x00 entry: retries waiting for their time
	bucketRecrawl = []byte("recrawl")  // dueAt(8) seq(8) -> host 0x00 entry: done pages due again
	bucketHosts   = []byte("hosts")    // host -> hostRecord: per-host totals
	bucketMeta    = []byte("frontier") // counters and the sequence
)

var (
	keySeq        = []byte("seq")
	keyDone       = []byte("done")
	keyFailed     = []byte("failed")
	keyDisallowed = []byte("disallowed")
	keyTrapped    = []byte("trapped")
)

// State is where a URL is in its life. In-flight is not stored: a URL being
// fetched is still queued on disk and leased in memory, so a crash returns
// it to queued by construction (nothing to repair at start-up).
type State byte

// URL states.
const (
	StateQueued     State = 1 // waiting in its host queue (or for a retry time)
	StateDone       State = 2 // fetched; the page record says how it went
	StateFailed     State = 3 // gave up: network error, retries spent, trap, refused
	StateDisallowed State = 4 // robots.txt forbids it; never requested
	StateInFlight   State = 5 // only in memory and API answers: leased to a fetch worker
)

func (s State) String() string {
	switch s {
	case StateQueued:
		return "queued"
	case StateDone:
		return "done"
	case StateFailed:
		return "failed"
	case StateDisallowed:
		return "disallowed"
	case StateInFlight:
		return "in_flight"
	}
	return fmt.Sprintf("state(%d)", byte(s))
}

// seenKey is a URL's key in the seen bucket: 4 bytes of a hash of its
// authority, then 12 bytes of its SHA-256.
//
// Sixteen bytes instead of the URL (~70 bytes on real sites) make the
// seen-set about a third of the size on disk and in the page cache. The
// authority prefix keeps a host's URLs next to each other in the B+tree:
// a page's links are mostly to its own host, so a commit's inserts land on
// a few leaf pages instead of one page per link (the write amplification
// that bounded enqueue when keys were random). Within one host prefix the
// URLs are told apart by 96 bits of a cryptographic hash: a collision is
// ~2^-48 likely even at 2^24 URLs on one host, and a hostile site cannot
// craft one to hide another URL.
func seenKey(url string) []byte { return appendSeenKey(make([]byte, 0, seenKeyLen), url) }

// seenKeyLen is the length of a seen key.
const seenKeyLen = 16

// appendSeenKey appends url's seen key to dst.
func appendSeenKey(dst []byte, url string) []byte {
	authority := url
	if i := strings.Index(authority, "://"); i >= 0 {
		authority = authority[i+3:]
	}
	if i := strings.IndexByte(authority, '/'); i >= 0 {
		authority = authority[:i]
	}
	h := fnv.New32a()
	h.Write([]byte(authority))
	dst = binary.BigEndian.AppendUint32(dst, h.Sum32())
	sum := sha256.Sum256([]byte(url))
	return append(dst, sum[:seenKeyLen-4]...)
}

// urlRecord is the value in the seen bucket.
type urlRecord struct {
	State    State
	Depth    int
	Attempts int
	// Recrawl tells which recrawl entry of the URL is current: its due
	// time (Unix nanoseconds) when one was scheduled, recrawlNone when
	// none is (a refresh queued the URL: older entries are stale), and 0
	// when unknown (a record written before it was kept: every entry is
	// current). See recrawlCurrent.
	Recrawl int64
}

// recrawlNone is urlRecord.Recrawl when no recrawl entry is current.
const recrawlNone = -1

// recrawlCurrent reports whether the recrawl entry due at due is the
// URL's current one, which promote queues, rather than one a refresh
// left behind, which it drops. A refreshed URL that is done again
// without a recrawl of its own (recrawl turned off meanwhile) has 0, so
// the entry left behind counts as current: one recrawl more, never one
// less.
func (r urlRecord) recrawlCurrent(due time.Time) bool {
	return r.State == StateDone && (r.Recrawl == 0 || r.Recrawl == due.UnixNano())
}

func (r urlRecord) marshal() []byte {
	b := make([]byte, 1, 1+3*binary.MaxVarintLen64)
	b[0] = byte(r.State)
	b = binary.AppendUvarint(b, uint64(r.Depth))
	b = binary.AppendUvarint(b, uint64(r.Attempts))
	if r.Recrawl != 0 { // absent in older records
		b = binary.AppendVarint(b, r.Recrawl)
	}
	return b
}

func unmarshalURLRecord(b []byte) (urlRecord, error) {
	var r urlRecord
	if len(b) < 1 {
		return r, ErrCorrupt
	}
	r.State = State(b[0])
	d := decoder{b: b[1:]}
	r.Depth = int(d.uvarint())
	r.Attempts = int(d.uvarint())
	if d.err == nil && len(d.b) > 0 {
		r.Recrawl = d.varint()
	}
	return r, d.err
}

// entry is a queued URL as stored in the queue and delayed buckets.
type entry struct {
	URL      string
	Parent   string // page it was found on; "" for seeds
	Depth    int    // link hops from a seed
	Attempts int    // fetch attempts already made
	Hops     int    // redirect hops that led here
	Origin   string // first URL of the redirect chain; "" when Hops == 0
	Via      string // the chain's URLs before this one, newline-separated
	Revisit  bool   // queued again after it was finished (Item.Revisit)
	// Due is when a revisit came due (Item.Due), in Unix milliseconds;
	// 0 for a first fetch and in entries written before it was kept.
	Due int64
}

// dueTime is the time of an entry's Due; zero for 0.
func dueTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// dueMillis is an Item's Due as an entry keeps it.
func dueMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixMilli(), 1)
}

// Entry encodings. Entries written before compaction start with the
// URL's length (a URL is never empty, so never 0); compact ones start with
// entryCompact and a byte of entry flags.
const entryCompact = 0

// Entry flags: what the compact encoding left out.
const (
	entryHTTPS      = 1 << iota // URL is "https://" + host + the stored rest
	entryHTTP                   // URL is "http://" + host + the stored rest
	entrySameParent             // Parent begins like the URL; its rest is stored
	entryRevisit                // Revisit is true
	entryDue                    // Due follows Via (which is then always written)
)

// marshal encodes e for the queue of host (the frontier's host key). A
// URL's "scheme://host" is the host key in almost every entry, and the page
// that linked to it is usually on the same host, so both are stored as
// what follows it: about half the bytes of a real entry, and the queue is
// most of the frontier's file.
func (e *entry) marshal(host string) []byte {
	b := make([]byte, 0, len(e.URL)+len(e.Parent)+len(e.Origin)+16)
	var flags byte
	url, parent := e.URL, e.Parent
	for _, s := range []struct {
		scheme string
		flag   byte
	}{{"https://", entryHTTPS}, {"http://", entryHTTP}} {
		if n := len(s.scheme) + len(host); len(url) > n && url[n] == '/' && url[:len(s.scheme)] == s.scheme && url[len(s.scheme):n] == host {
			flags |= s.flag
			if len(parent) > n && parent[n] == '/' && parent[:n] == url[:n] {
				flags |= entrySameParent
				parent = parent[n:]
			}
			url = url[n:]
			break
		}
	}
	if e.Revisit {
		flags |= entryRevisit
	}
	if e.Due > 0 {
		flags |= entryDue
	}
	b = append(b, entryCompact, flags)
	b = appendString(b, url)
	b = appendString(b, parent)
	b = binary.AppendUvarint(b, uint64(e.Depth))
	b = binary.AppendUvarint(b, uint64(e.Attempts))
	b = binary.AppendUvarint(b, uint64(e.Hops))
	b = appendString(b, e.Origin)
	if e.Via != "" || flags&entryDue != 0 {
		b = appendString(b, e.Via)
	}
	if flags&entryDue != 0 {
		b = binary.AppendUvarint(b, uint64(e.Due))
	}
	return b
}

// unmarshalEntry decodes an entry of host's queue, in either encoding.
func unmarshalEntry(host string, b []byte) (*entry, error) {
	var flags byte
	if len(b) >= 2 && b[0] == entryCompact {
		flags, b = b[1], b[2:]
	}
	d := decoder{b: b}
	e := &entry{
		URL:      d.string(),
		Parent:   d.string(),
		Depth:    int(d.uvarint()),
		Attempts: int(d.uvarint()),
		Hops:     int(d.uvarint()),
		Origin:   d.string(),
		Revisit:  flags&entryRevisit != 0,
	}
	if d.err == nil && len(d.b) > 0 { // added later: absent in older entries
		e.Via = d.string()
	}
	if d.err == nil && flags&entryDue != 0 {
		e.Due = int64(d.uvarint())
	}
	if d.err != nil {
		return nil, d.err
	}
	var prefix string
	switch {
	case flags&entryHTTPS != 0:
		prefix = "https://" + host
	case flags&entryHTTP != 0:
		prefix = "http://" + host
	}
	if prefix != "" {
		e.URL = prefix + e.URL
		if flags&entrySameParent != 0 {
			e.Parent = prefix + e.Parent
		}
	}
	return e, nil
}

// revisitRank is the queue rank (queueRank) of every revisit: above any
// depth a crawl reaches, and within a uint32 on every platform.
const revisitRank = math.MaxInt32

// queueRank is the rank an entry sorts by in its host's queue (the depth
// argument of queueKey), before its seq: a first fetch's depth, which its
// retries keep (breadth-first), or revisitRank for a revisit (Item.Revisit:
// a recrawl come due, a refresh, a revisit, and their retries). Revisits
// thus go after every first fetch of their host and, among themselves,
// in the order they were queued. A host too slow for recrawl.interval
// falls behind on its recrawls, never on its new URLs and retries, which
// shallower recrawls coming due without end would otherwise hold back
// for good.
func queueRank(depth int, revisit bool) int {
	if revisit {
		return revisitRank
	}
	return depth
}

// queueKey orders a host's queue breadth-first: by depth (queueRank),
// then discovery.
func queueKey(host string, depth int, seq uint64) []byte {
	return appendQueueKey(make([]byte, 0, len(host)+13), host, depth, seq)
}

// appendQueueKey appends queueKey(host, depth, seq) to dst.
func appendQueueKey[H string | []byte](dst []byte, host H, depth int, seq uint64) []byte {
	dst = append(append(dst, host...), 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(depth))
	return binary.BigEndian.AppendUint64(dst, seq)
}

// hostPrefix is the key prefix of every queue entry of host.
func hostPrefix(host string) []byte { return append([]byte(host), 0) }

// hostOfKey returns the host part of a queue key.
func hostOfKey(k []byte) string {
	for i, c := range k {
		if c == 0 {
			return string(k[:i])
		}
	}
	return string(k)
}

// dueAt is when the timed key k (delayedKey) is due; a damaged key, too
// short to hold a time, is due at once.
func dueAt(k []byte) time.Time { return time.Unix(0, int64(u64(k[:min(len(k), 8)]))) }

func delayedKey(at time.Time, seq uint64) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano()))
	return binary.BigEndian.AppendUint64(k, seq)
}

// A timed entry (the delayed and recrawl buckets, under delayedKey) is
// its host key, a NUL, and the entry marshalled for that host.
func marshalTimed(host string, e *entry) []byte {
	return append(append([]byte(host), 0), e.marshal(host)...)
}

// unmarshalTimed decodes a timed entry; ErrCorrupt if it has no host.
func unmarshalTimed(v []byte) (host string, e *entry, err error) {
	i := bytes.IndexByte(v, 0)
	if i < 0 {
		return "", nil, ErrCorrupt
	}
	host = string(v[:i])
	e, err = unmarshalEntry(host, v[i+1:])
	return host, e, err
}

// hostRecord holds a host's persistent totals, and its pace (Pace).
type hostRecord struct {
	Queued, Done, Failed, Disallowed, Enqueued int64
	Delay                                      int64 // nanoseconds: Pace.Delay
	PausedUntil                                int64 // Unix nanoseconds: Pace.Until; 0 for none
	Trips                                      int64 // Pace.Trips
}

// marshal encodes h as varints, leaving out the trailing zeros of its
// pace (records written before paces were kept have none, and those
// written before trips were kept have no trips).
func (h hostRecord) marshal() []byte {
	b := make([]byte, 0, 8*binary.MaxVarintLen64)
	v := []int64{h.Queued, h.Done, h.Failed, h.Disallowed, h.Enqueued, h.Delay, h.PausedUntil, h.Trips}
	for len(v) > 5 && v[len(v)-1] == 0 {
		v = v[:len(v)-1]
	}
	for _, v := range v {
		b = binary.AppendVarint(b, v)
	}
	return b
}

func unmarshalHostRecord(b []byte) hostRecord {
	d := decoder{b: b}
	return hostRecord{Queued: d.varint(), Done: d.varint(), Failed: d.varint(), Disallowed: d.varint(), Enqueued: d.varint(),
		Delay: d.varint(), PausedUntil: d.varint(), Trips: d.varint()}
}

func (h *hostRecord) add(o hostRecord) {
	h.Queued += o.Queued
	h.Done += o.Done
	h.Failed += o.Failed
	h.Disallowed += o.Disallowed
	h.Enqueued += o.Enqueued
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads the varint framing above; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = ErrCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil || len(d.b) == 0 {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = ErrCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = ErrCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func u64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func putU64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

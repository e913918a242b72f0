package frontier

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Bucket names owned by this package, in the store's bbolt file.
var (
	bucketURLs    = []byte("urls")     // url -> urlRecord: the seen-set and each URL's state
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

// urlRecord is the value in the urls bucket.
type urlRecord struct {
	State    State
	Depth    int
	Attempts int
}

func (r urlRecord) marshal() []byte {
	b := make([]byte, 1, 1+2*binary.MaxVarintLen64)
	b[0] = byte(r.State)
	b = binary.AppendUvarint(b, uint64(r.Depth))
	return binary.AppendUvarint(b, uint64(r.Attempts))
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
}

func (e *entry) marshal() []byte {
	b := make([]byte, 0, len(e.URL)+len(e.Parent)+len(e.Origin)+16)
	b = appendString(b, e.URL)
	b = appendString(b, e.Parent)
	b = binary.AppendUvarint(b, uint64(e.Depth))
	b = binary.AppendUvarint(b, uint64(e.Attempts))
	b = binary.AppendUvarint(b, uint64(e.Hops))
	b = appendString(b, e.Origin)
	if e.Via != "" {
		b = appendString(b, e.Via)
	}
	return b
}

func unmarshalEntry(b []byte) (*entry, error) {
	d := decoder{b: b}
	e := &entry{
		URL:      d.string(),
		Parent:   d.string(),
		Depth:    int(d.uvarint()),
		Attempts: int(d.uvarint()),
		Hops:     int(d.uvarint()),
		Origin:   d.string(),
	}
	if d.err == nil && len(d.b) > 0 { // added later: absent in older entries
		e.Via = d.string()
	}
	if d.err != nil {
		return nil, d.err
	}
	return e, nil
}

// queueKey orders a host's queue breadth-first: by depth, then discovery.
func queueKey(host string, depth int, seq uint64) []byte {
	k := make([]byte, 0, len(host)+13)
	k = append(k, host...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint32(k, uint32(depth))
	return binary.BigEndian.AppendUint64(k, seq)
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

func delayedKey(at time.Time, seq uint64) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano()))
	return binary.BigEndian.AppendUint64(k, seq)
}

// hostRecord holds a host's persistent totals.
type hostRecord struct {
	Queued, Done, Failed, Disallowed, Enqueued int64
}

func (h hostRecord) marshal() []byte {
	b := make([]byte, 0, 5*binary.MaxVarintLen64)
	for _, v := range []int64{h.Queued, h.Done, h.Failed, h.Disallowed, h.Enqueued} {
		b = binary.AppendVarint(b, v)
	}
	return b
}

func unmarshalHostRecord(b []byte) hostRecord {
	d := decoder{b: b}
	return hostRecord{Queued: d.varint(), Done: d.varint(), Failed: d.varint(), Disallowed: d.varint(), Enqueued: d.varint()}
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

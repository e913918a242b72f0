package frontier

import (
	"strings"
	"testing"
)

// FuzzEntry holds the queue entry codec to a round trip for any fields
// and host key (the compact encoding drops "scheme://host" from the URL
// and the parent when they match the host key), the timed-entry wrapper
// to the same, and the decoder to an error, never a panic, on any bytes.
func FuzzEntry(f *testing.F) {
	f.Add("example.com:8080", "https://example.com:8080/a?b", "https://example.com:8080/", 1, 0, 0, "", "", false, int64(0), []byte{})
	f.Add("example.com", "http://example.com/", "https://other.example/p", 3, 2, 0, "", "", true, int64(1_795_000_000_000), []byte{0, 3})
	f.Add("a.example", "https://a.example", "", 0, 0, 2, "https://b.example/", "https://b.example/\nhttps://c.example/", true, int64(7), []byte{5, 'h'})
	f.Add("h", "https://h/x", "https://h", 0, 0, 0, "", "", false, int64(0), []byte{0, 1, 2, '/', 'x'})
	f.Fuzz(func(t *testing.T, host, url, parent string, depth, attempts, hops int, origin, via string, revisit bool, due int64, raw []byte) {
		if depth < 0 || attempts < 0 || hops < 0 || due < 0 {
			return // counts and times are never negative (stored as uvarints)
		}
		e := entry{URL: url, Parent: parent, Depth: depth, Attempts: attempts, Hops: hops, Origin: origin, Via: via, Revisit: revisit, Due: due}
		got, err := unmarshalEntry(host, e.marshal(host))
		if err != nil {
			t.Fatalf("unmarshal(marshal(%+v)) for host %q: %v", e, host, err)
		}
		if *got != e {
			t.Fatalf("round trip for host %q:\n got %+v\nwant %+v", host, *got, e)
		}
		if strings.IndexByte(host, 0) < 0 { // a host key never holds a NUL
			h, got, err := unmarshalTimed(marshalTimed(host, &e))
			if err != nil || h != host || *got != e {
				t.Fatalf("timed round trip for host %q: %q, %+v, %v", host, h, got, err)
			}
		}
		_, _ = unmarshalEntry(host, raw)
		_, _, _ = unmarshalTimed(raw)
		_, _ = unmarshalURLRecord(raw)
	})
}

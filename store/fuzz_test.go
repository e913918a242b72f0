package store

import (
	"bytes"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// FuzzUnmarshalRecord feeds arbitrary bytes to the page-record codec.
// UnmarshalRecord must never panic, must fail only with ErrCorrupt, and a
// record it accepts must survive a round trip: encoding it and decoding
// that gives the same page, and encoding is stable from then on.
// Seeds: testdata/fuzz/FuzzUnmarshalRecord and the records below.
func FuzzUnmarshalRecord(f *testing.F) {
	full := &Page{
		URL: "http://example.com/a?b=1", Host: "example.com", Status: 200,
		ContentType: "text/html", Charset: "windows-1252", Title: "Ünïcödé <title>",
		Description: "d", Canonical: "http://example.com/a", Depth: 3,
		FetchedAt:  time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC),
		DurationMS: 12, Parent: "http://example.com/", RedirectTo: "", Outlinks: 7,
		TextLen: 99, BodyBytes: 1 << 20, WireBytes: 1234, Hash: "ab12", Truncated: true,
		Error: "fetch x: timeout: y", Attempts: 2, ETag: `"v1"`, LastModified: "Mon, 02 Jan 2006 15:04:05 GMT",
		Header: http.Header{"Content-Type": {"text/html"}, "Set-Cookie": {"a=1", "b=2"}},
		Fields: map[string]any{"price": 12.5, "tags": []any{"a", "b"}, "n": nil, "nested": map[string]any{"ok": true}},
		Extra:  map[string]string{"links_dropped": "3"},
	}
	for _, p := range []*Page{full, {URL: "http://x/"}, {}} {
		b, err := MarshalRecord(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{recordVersion})
	f.Add([]byte{2, '{', '}'})
	f.Add([]byte("\x01{\"fetched_at\":\"2024-01-02T03:04:05+01:00\",\"fields\":{\"x\":1e308}}"))
	f.Add([]byte("\x01{\"url\":\"a\",\"URL\":\"b\",\"header\":{\"X\":null}}"))

	f.Fuzz(func(t *testing.T, data []byte) {
		p1, err := UnmarshalRecord(data)
		if err != nil {
			if p1 != nil {
				t.Errorf("error %v with a page", err)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		b1, err := MarshalRecord(p1)
		if err != nil {
			t.Fatalf("a decoded record does not encode: %v", err)
		}
		p2, err := UnmarshalRecord(b1)
		if err != nil {
			t.Fatalf("an encoded record does not decode: %v\n%q", err, b1)
		}
		if !samePage(p1, p2) {
			t.Errorf("round trip changed the page:\n%#v\n%#v", p1, p2)
		}
		b2, err := MarshalRecord(p2)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Errorf("encoding is not stable (%v):\n%q\n%q", err, b1, b2)
		}
	})
}

// samePage compares two pages field by field, the way the JSON form does:
// FetchedAt as an instant (a decoded "+00:00" may come back in another
// *Location naming the same offset), and an empty Header or Extra like a
// nil one (both are omitempty, so {} encodes as nothing).
func samePage(a, b *Page) bool {
	if !a.FetchedAt.Equal(b.FetchedAt) {
		return false
	}
	x, y := *a, *b
	for _, p := range []*Page{&x, &y} {
		p.FetchedAt = time.Time{}
		if len(p.Header) == 0 {
			p.Header = nil
		}
		if len(p.Extra) == 0 {
			p.Extra = nil
		}
	}
	return reflect.DeepEqual(x, y)
}

func TestRecordRoundTrip(t *testing.T) {
	p := &Page{
		URL: "http://example.com/", FetchedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Header: http.Header{"A": {"b"}}, Fields: map[string]any{"k": "v"}, Extra: map[string]string{"x": "y"},
	}
	b, err := MarshalRecord(p)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != recordVersion {
		t.Errorf("record starts with %d; want version %d", b[0], recordVersion)
	}
	q, err := UnmarshalRecord(b)
	if err != nil || !samePage(p, q) {
		t.Errorf("round trip: %+v, %v", q, err)
	}
	for _, bad := range [][]byte{nil, {}, {0}, {2, '{', '}'}, {recordVersion}, {recordVersion, '['}, []byte("\x01{\"status\":\"x\"}")} {
		if p, err := UnmarshalRecord(bad); !errors.Is(err, ErrCorrupt) || p != nil {
			t.Errorf("UnmarshalRecord(%q) = %v, %v; want ErrCorrupt", bad, p, err)
		}
	}
}

// FuzzLogRefs feeds arbitrary bytes to the page reference codec:
// decodeLogRefs must never panic, must fail only with ErrCorrupt, and a
// reference it accepts must round-trip through encode, which keeps the
// old one-slot encoding whenever both values are in slot 0.
func FuzzLogRefs(f *testing.F) {
	for _, r := range []logRefs{
		{rec: valueRef{off: 0, n: 1}},
		{rec: valueRef{off: 1 << 40, n: 300}, body: valueRef{off: 77, n: 9, slot: 1}},
		{rec: valueRef{off: 5, n: 2, slot: 1}},
	} {
		f.Add(r.encode())
	}
	f.Add([]byte{recordInLogs, 2, 0, 1, 0, 0}) // a body slot without a body
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeLogRefs(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeLogRefs(%x) = %v; want ErrCorrupt", b, err)
			}
			return
		}
		enc := r.encode()
		got, err := decodeLogRefs(enc)
		if err != nil {
			t.Fatalf("decode(encode(%+v)) = %v", r, err)
		}
		want := r
		if want.body.n == 0 {
			want.body.slot = 0
		}
		if got != want {
			t.Fatalf("decode(encode(%+v)) = %+v", want, got)
		}
		if slot0 := want.rec.slot == 0 && want.body.slot == 0; slot0 != (enc[0] == recordInLog) {
			t.Fatalf("encode(%+v) starts with %d", want, enc[0])
		}
	})
}

package fetcher

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// TestReadCapped reads bodies around the scratch buffer's size, with and
// without a size hint, through readers that return a byte at a time, half
// of what is asked, or everything at once, and checks the bytes, the cap,
// the error and the sizes it asked grow for.
func TestReadCapped(t *testing.T) {
	readers := map[string]func(io.Reader) io.Reader{
		"whole":   func(r io.Reader) io.Reader { return r },
		"onebyte": iotest.OneByteReader,
		"half":    iotest.HalfReader,
		"dataerr": iotest.DataErrReader, // the last bytes come with io.EOF
	}
	for _, size := range []int{1, 100, 8 << 10, scratchSize - 1, scratchSize, scratchSize + 1, 3*scratchSize + 5} {
		body := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		for _, hint := range []int64{0, int64(size)} {
			for name, wrap := range readers {
				var grown []int64
				got, err := readCapped(wrap(bytes.NewReader(body)), 1<<30, hint, func(n int64) error {
					grown = append(grown, n)
					return nil
				})
				if err != nil || !bytes.Equal(got, body) {
					t.Fatalf("size %d hint %d %s: %d bytes, %v; want the %d bytes", size, hint, name, len(got), err, size)
				}
				if len(grown) == 0 || grown[0] <= 0 {
					t.Fatalf("size %d hint %d %s: grow calls %v; want one before the first allocation", size, hint, name, grown)
				}
				if size < scratchSize && cap(got) > size+size/8+64 {
					t.Errorf("size %d hint %d %s: cap %d; want about the body's size", size, hint, name, cap(got))
				}
			}
		}
	}
}

// TestReadCappedLimit stops at limit bytes whether or not the body goes on,
// below and above the scratch buffer's size.
func TestReadCappedLimit(t *testing.T) {
	for _, limit := range []int64{1, 1000, scratchSize, scratchSize + 1, 5 * scratchSize} {
		endless := io.MultiReader(bytes.NewReader(make([]byte, 10*scratchSize)), iotest.ErrReader(errors.New("read past the limit")))
		got, err := readCapped(endless, limit, 0, nil)
		if err != nil || int64(len(got)) != limit {
			t.Fatalf("limit %d: %d bytes, %v; want exactly the limit and no error", limit, len(got), err)
		}
	}
}

// TestReadCappedError returns what was read with the error that stopped
// it, and stops when grow refuses.
func TestReadCappedError(t *testing.T) {
	boom := errors.New("connection reset")
	for _, n := range []int{0, 10, scratchSize, scratchSize + 10} {
		r := io.MultiReader(bytes.NewReader(bytes.Repeat([]byte{'x'}, n)), iotest.ErrReader(boom))
		got, err := readCapped(r, 1<<20, 0, nil)
		if !errors.Is(err, boom) || len(got) != n {
			t.Fatalf("error after %d bytes: got %d bytes, %v; want %d and %v", n, len(got), err, n, boom)
		}
	}
	refuse := errors.New("no budget")
	got, err := readCapped(bytes.NewReader(make([]byte, 3*scratchSize)), 1<<20, 0, func(n int64) error {
		if n > 2*scratchSize { // the scratch buffer and its copy are allowed
			return refuse
		}
		return nil
	})
	if !errors.Is(err, refuse) || len(got) != scratchSize {
		t.Fatalf("grow refused past the scratch buffer: %d bytes, %v; want %d and %v", len(got), err, scratchSize, refuse)
	}
}

// TestReadCappedOwnsItsResult checks that a body read through the pooled
// scratch buffer is a copy: the next reads (which reuse the buffer) must
// not change it.
func TestReadCappedOwnsItsResult(t *testing.T) {
	first, err := readCapped(bytes.NewReader(bytes.Repeat([]byte{'a'}, 5000)), 1<<20, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := readCapped(bytes.NewReader(bytes.Repeat([]byte{'b'}, 6000)), 1<<20, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(first, bytes.Repeat([]byte{'a'}, 5000)) {
		t.Fatal("a later read changed an earlier body: the result shares the scratch buffer")
	}
}

// BenchmarkReadCapped reads an 8 KB body of unknown length (a chunked
// page), the throughput scenario's page.
func BenchmarkReadCapped(b *testing.B) {
	body := bytes.Repeat([]byte("<p>some text</p>"), 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := readCapped(bytes.NewReader(body), 10<<20, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
}

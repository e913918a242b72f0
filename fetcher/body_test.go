package fetcher

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
)

func compress(t *testing.T, data []byte, newWriter func(io.Writer) (io.WriteCloser, error)) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := newWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t *testing.T, data []byte) []byte {
	return compress(t, data, func(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriter(w), nil })
}

func zlibBytes(t *testing.T, data []byte) []byte {
	return compress(t, data, func(w io.Writer) (io.WriteCloser, error) { return zlib.NewWriter(w), nil })
}

func flateBytes(t *testing.T, data []byte) []byte {
	return compress(t, data, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.DefaultCompression) })
}

func brotliBytes(t *testing.T, data []byte) []byte {
	return compress(t, data, func(w io.Writer) (io.WriteCloser, error) { return brotli.NewWriter(w), nil })
}

// encodedServer serves body with the given Content-Encoding.
func encodedServer(t *testing.T, encoding string, body []byte) string {
	return newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if encoding != "" {
			w.Header().Set("Content-Encoding", encoding)
		}
		w.Write(body)
	})).URL
}

func TestFetchDecodesContentEncodings(t *testing.T) {
	text := []byte(strings.Repeat("<p>The quick brown fox jumps over the lazy dog.</p>\n", 200))
	for _, tc := range []struct {
		name, encoding string
		wire           []byte
	}{
		{"gzip", "gzip", gzipBytes(t, text)},
		{"x-gzip", "x-gzip", gzipBytes(t, text)},
		{"deflate zlib", "deflate", zlibBytes(t, text)},
		{"deflate raw", "deflate", flateBytes(t, text)},
		{"brotli", "br", brotliBytes(t, text)},
		{"stacked", "gzip, br", brotliBytes(t, gzipBytes(t, text))},
		{"identity", "identity", text},
		{"mixed case", " GZip ", gzipBytes(t, text)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, newClient(t, Options{}), encodedServer(t, tc.encoding, tc.wire))
			if !bytes.Equal(resp.Body, text) {
				t.Errorf("decoded %d bytes, want the %d-byte original", len(resp.Body), len(text))
			}
			if resp.WireBytes != int64(len(tc.wire)) || resp.Truncated {
				t.Errorf("WireBytes %d (want %d), Truncated %v", resp.WireBytes, len(tc.wire), resp.Truncated)
			}
		})
	}
}

func TestFetchUnknownEncodingKeepsRawBytes(t *testing.T) {
	raw := gzipBytes(t, []byte("hidden"))
	for _, enc := range []string{"compress", "gzip, zstd", "gzip, gzip, gzip, gzip", "br, br"} {
		resp := get(t, newClient(t, Options{}), encodedServer(t, enc, raw))
		if !bytes.Equal(resp.Body, raw) {
			t.Errorf("Content-Encoding %q: body %q, want the raw bytes", enc, resp.Body)
		}
	}
}

func TestFetchCorruptEncodingIsProtocol(t *testing.T) {
	text := []byte(strings.Repeat("abcdefgh", 4096))
	corrupt := gzipBytes(t, text)
	corrupt = corrupt[:len(corrupt)/2] // stream ends mid-way: the body framing is fine, the gzip is not
	for _, tc := range []struct{ encoding, body string }{
		{"gzip", "this is not gzip"},
		{"gzip", string(corrupt)},
		{"br", "\xff\xff\xff\xff not brotli"},
		{"deflate", "\xff\xff\xff not deflate"},
	} {
		resp, err := newClient(t, Options{}).Fetch(context.Background(), &Request{URL: mustParse(t, encodedServer(t, tc.encoding, []byte(tc.body)))})
		wantKind(t, err, KindProtocol)
		if resp == nil || resp.Status != 200 {
			t.Fatalf("%s: want the response along with the error, got %+v", tc.encoding, resp)
		}
		if !bytes.HasPrefix(text, resp.Body) {
			t.Errorf("%s: partial body is not a prefix of the original", tc.encoding)
		}
	}
}

func TestFetchEmptyBody(t *testing.T) {
	for _, enc := range []string{"", "gzip", "br", "deflate"} {
		resp := get(t, newClient(t, Options{}), encodedServer(t, enc, nil))
		if resp.Status != 200 || len(resp.Body) != 0 || resp.Truncated || resp.WireBytes != 0 {
			t.Errorf("encoding %q: status %d, body %q, truncated %v, wire %d", enc, resp.Status, resp.Body, resp.Truncated, resp.WireBytes)
		}
	}
}

// endless writes chunk forever, until the client goes away.
func endless(contentEncoding string, chunk []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if contentEncoding != "" {
			w.Header().Set("Content-Encoding", contentEncoding)
		}
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
}

func TestFetchEndlessBodyTruncated(t *testing.T) {
	const maxBody = 100 << 10
	srv := newServer(t, endless("", bytes.Repeat([]byte("a"), 32<<10)))
	c := newClient(t, Options{MaxBodyBytes: maxBody})

	resp := get(t, c, srv.URL)
	if !resp.Truncated || len(resp.Body) != maxBody {
		t.Errorf("Truncated %v, len %d; want true, %d", resp.Truncated, len(resp.Body), maxBody)
	}
	if resp.WireBytes <= maxBody || resp.WireBytes > wireLimit(maxBody) {
		t.Errorf("WireBytes = %d, want in (%d, %d]", resp.WireBytes, maxBody, wireLimit(maxBody))
	}

	// The per-request cap wins over the client's.
	resp, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL), MaxBodyBytes: 1000})
	if err != nil || !resp.Truncated || len(resp.Body) != 1000 {
		t.Errorf("per-request cap: err %v, truncated %v, len %d", err, resp.Truncated, len(resp.Body))
	}
}

func TestFetchBodyExactlyAtCapIsNotTruncated(t *testing.T) {
	body := bytes.Repeat([]byte("b"), 4096)
	resp := get(t, newClient(t, Options{MaxBodyBytes: 4096}), encodedServer(t, "", body))
	if resp.Truncated || !bytes.Equal(resp.Body, body) {
		t.Errorf("Truncated %v, len %d", resp.Truncated, len(resp.Body))
	}
	// Incompressible content, so the gzip stream is larger than the body.
	random := make([]byte, 64<<10)
	rand.Read(random)
	resp = get(t, newClient(t, Options{MaxBodyBytes: int64(len(random))}), encodedServer(t, "gzip", gzipBytes(t, random)))
	if resp.Truncated || !bytes.Equal(resp.Body, random) {
		t.Errorf("incompressible gzip at the cap: Truncated %v, len %d", resp.Truncated, len(resp.Body))
	}
}

func TestFetchGzipBomb(t *testing.T) {
	const maxBody = 1 << 20
	// 1 GiB of zeros, compressed while streaming: about 1 MiB on the wire.
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		zeros := make([]byte, 1<<20)
		for range 1024 {
			if r.Context().Err() != nil {
				return
			}
			if _, err := gz.Write(zeros); err != nil {
				return
			}
		}
		gz.Close()
	}))
	c := newClient(t, Options{MaxBodyBytes: maxBody})

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	resp := get(t, c, srv.URL)
	runtime.ReadMemStats(&after)

	if !resp.Truncated || len(resp.Body) != maxBody {
		t.Errorf("Truncated %v, len %d; want true, %d", resp.Truncated, len(resp.Body), maxBody)
	}
	if resp.WireBytes > wireLimit(maxBody) {
		t.Errorf("WireBytes = %d, above the wire cap %d", resp.WireBytes, wireLimit(maxBody))
	}
	// Server and client together; decoding the whole bomb would allocate
	// over 1 GiB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("allocated %d MiB fetching a bomb capped at 1 MiB", alloc>>20)
	}
}

func TestFetchDeflateStallHitsWireCap(t *testing.T) {
	// Endless empty stored deflate blocks: bytes arrive forever, nothing
	// decodes. Only the wire cap ends this.
	const maxBody = 64 << 10
	emptyBlock := []byte{0x00, 0x00, 0x00, 0xff, 0xff}
	srv := newServer(t, endless("deflate", bytes.Repeat(emptyBlock, 1000)))
	resp := get(t, newClient(t, Options{MaxBodyBytes: maxBody}), srv.URL)
	if !resp.Truncated || len(resp.Body) != 0 {
		t.Errorf("Truncated %v, len %d; want true, 0", resp.Truncated, len(resp.Body))
	}
	if resp.WireBytes != wireLimit(maxBody) {
		t.Errorf("WireBytes = %d, want the wire cap %d", resp.WireBytes, wireLimit(maxBody))
	}
}

// TestFetchStackedCodingStallHitsLayerCap ensures that each inner decoder
// of stacked codings reads through a cap like the wire cap. The wire cap
// alone counts only the outermost coding's bytes: here an outer gzip
// expands each wire byte about 600-fold into endless empty stored deflate
// blocks, so the fetch would decode hundreds of MiB to nothing, burning a
// CPU until Timeout, and fail with a retryable KindTimeout instead of
// coming back Truncated at once as the single-layer case does
// (TestFetchDeflateStallHitsWireCap).
func TestFetchStackedCodingStallHitsLayerCap(t *testing.T) {
	const maxBody = 1 << 20
	emptyBlock := []byte{0x00, 0x00, 0x00, 0xff, 0xff} // empty stored deflate block
	var member bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	gz.Write(bytes.Repeat(emptyBlock, (1<<20)/len(emptyBlock))) // 1 MiB of nothing, ~2 KB compressed
	gz.Close()
	members := bytes.Repeat(member.Bytes(), 64) // concatenated gzip members, as gzipMembers accepts
	srv := newServer(t, endless("deflate, gzip", members))
	c := newClient(t, Options{MaxBodyBytes: maxBody, Timeout: 2 * time.Second})
	start := time.Now()
	resp, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL)})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("after %v: %v; want a Truncated result once the decoded-but-empty stream passes the caps", took.Round(time.Millisecond), err)
	}
	if !resp.Truncated || len(resp.Body) != 0 {
		t.Errorf("Truncated %v, len %d; want true, 0", resp.Truncated, len(resp.Body))
	}
	if resp.WireBytes > wireLimit(maxBody) {
		t.Errorf("WireBytes = %d, above the wire cap %d", resp.WireBytes, wireLimit(maxBody))
	}
	if took > time.Second {
		t.Errorf("took %v for a body that never decodes to a byte", took)
	}
}

// TestFetchBrotliWindowBounded ensures that a brotli stream cannot make
// its decoder allocate more than the cap needs. The decoder allocates a
// ring buffer as large as the window the stream declares (up to 16 MiB),
// whatever will be read and outside Options.BodyMemory: a few bytes
// declaring a 16 MiB window and a 16 MiB meta-block used to make a fetch
// capped at 64 KiB allocate 16 MiB per br layer, 48 MiB with three
// stacked ones. The window is now clamped to what the cap needs, and
// stacks with more than one br are kept raw.
func TestFetchBrotliWindowBounded(t *testing.T) {
	const maxBody = 64 << 10
	// WBITS=24, ISLAST=0, MNIBBLES=6, MLEN=1<<24, ISUNCOMPRESSED=1: a
	// 16 MiB stored meta-block whose bytes follow.
	hdr := []byte{0xcf, 0xff, 0xff, 0xff}
	single := append(append([]byte(nil), hdr...), bytes.Repeat([]byte("a"), maxBody+1)...)
	stacked := single
	for range 2 {
		stacked = append(append([]byte(nil), hdr...), stacked...)
	}
	for _, tc := range []struct {
		encoding string
		body     []byte
		want     []byte // the body's first maxBody bytes
	}{
		{"br", single, single[len(hdr):]},
		{"br, br, br", stacked, stacked}, // kept raw
	} {
		u := encodedServer(t, tc.encoding, tc.body)
		c := newClient(t, Options{MaxBodyBytes: maxBody})
		get(t, c, u) // warm up: connection, pools
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		resp := get(t, c, u)
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		if !resp.Truncated || !bytes.Equal(resp.Body, tc.want[:maxBody]) {
			t.Errorf("%s: Truncated %v, len %d; want true and the first %d bytes", tc.encoding, resp.Truncated, len(resp.Body), maxBody)
		}
		if alloc > 4<<20 {
			t.Errorf("%s: a %d-byte body capped at %d KiB allocated %d MiB", tc.encoding, len(tc.body), maxBody>>10, alloc>>20)
		}
	}
}

// TestFetchBrotliClampedWindowDecodes ensures that clamping the brotli
// window (see TestFetchBrotliWindowBounded) leaves ordinary br bodies
// intact: streams made with the encoder's default settings (a 4 MiB
// window) and with the largest window (16 MiB), whose back-references
// reach 300 KiB back, decode exactly under caps that clamp the window to
// 256 KiB, 512 KiB and 2 MiB, and are cut at the cap when longer.
func TestFetchBrotliClampedWindowDecodes(t *testing.T) {
	block := make([]byte, 300<<10)
	rand.Read(block)
	text := bytes.Repeat(block, 3) // incompressible but for references 300 KiB back
	for _, lgwin := range []int{0, 24} {
		wire := compress(t, text, func(w io.Writer) (io.WriteCloser, error) {
			return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: brotli.DefaultCompression, LGWin: lgwin}), nil
		})
		if len(wire) > len(text)/2 {
			t.Fatalf("lgwin %d: %d bytes compressed to %d: the encoder found no long matches, the test proves nothing", lgwin, len(text), len(wire))
		}
		u := encodedServer(t, "br", wire)
		for _, maxBody := range []int64{100 << 10, 400 << 10, 1 << 20, DefaultMaxBodyBytes} {
			resp := get(t, newClient(t, Options{MaxBodyBytes: maxBody}), u)
			want := text[:min(int64(len(text)), maxBody)]
			if !bytes.Equal(resp.Body, want) || resp.Truncated != (int64(len(text)) > maxBody) {
				t.Errorf("lgwin %d, cap %d: got %d bytes (truncated %v), want the first %d", lgwin, maxBody, len(resp.Body), resp.Truncated, len(want))
			}
		}
	}
}

// TestBrotliWindowBits checks the clamped window against the cap: the
// smallest of 18..24 bits whose window (less 16 bytes) holds the cap and
// one byte more.
func TestBrotliWindowBits(t *testing.T) {
	for _, tc := range []struct {
		maxBody int64
		want    uint
	}{
		{1, 18}, {64 << 10, 18}, {1<<18 - 17, 18}, {1<<18 - 16, 19}, {512000, 19},
		{1<<20 - 17, 20}, {1<<20 - 16, 21}, {DefaultMaxBodyBytes, 24}, {1 << 30, 24}, {math.MaxInt64, 24},
	} {
		if got := brotliWindowBits(tc.maxBody); got != tc.want {
			t.Errorf("brotliWindowBits(%d) = %d, want %d", tc.maxBody, got, tc.want)
		}
	}
}

func TestFetchResetMidBody(t *testing.T) {
	half := strings.Repeat("a", 500)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n" + half)
		buf.Flush()
		conn.(*net.TCPConn).SetLinger(0) // close sends RST instead of FIN
		conn.Close()
	}))
	resp, err := newClient(t, Options{}).Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL)})
	wantKind(t, err, KindNetwork)
	if resp == nil || resp.Status != 200 || resp.ContentType != "text/plain" {
		t.Fatalf("want the partial response with the error, got %+v", resp)
	}
	if len(resp.Body) == 0 || !strings.HasPrefix(half, string(resp.Body)) {
		t.Errorf("partial body %q, want a non-empty prefix of what was sent", resp.Body)
	}
}

func TestFetchShortBodyIsNetwork(t *testing.T) {
	srv := newServer(t, hijack(t, func(w io.Writer) {
		io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(100)+"\r\n\r\nonly this")
	}))
	resp, err := newClient(t, Options{}).Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL)})
	fe := wantKind(t, err, KindNetwork)
	if !errors.Is(fe, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want io.ErrUnexpectedEOF inside", fe)
	}
	if resp == nil || string(resp.Body) != "only this" {
		t.Errorf("partial response %+v", resp)
	}
}

func TestIsZlibHeader(t *testing.T) {
	z := zlibBytes(t, []byte("x"))
	if !isZlibHeader(z[0], z[1]) {
		t.Errorf("zlib stream header %x not recognised", z[:2])
	}
	for _, tc := range [][2]byte{{0x00, 0x00}, {0x78, 0x00}, {0xf8, 0x1b}, {0x78, 0xbb}} {
		if isZlibHeader(tc[0], tc[1]) {
			t.Errorf("%x taken for a zlib header", tc)
		}
	}
}

// An encoded body whose stream has ended is complete, even when the
// server then leaves the body open: no final chunk, no close of a
// connection without Content-Length, an HTTP/2 stream left open. The
// reads past the stream's end (the gzip decoder looking for another
// member, the brotli decoder, the drain that lets the connection be
// reused) used to wait for the server until Timeout, and gzip and br then
// failed the fetch with KindTimeout. They now wait a moment only. The
// body comes in two parts, a pause between them: a stream that waits for
// more input is not at its end, and a gzip member that comes a moment
// after the one before still counts.
func TestFetchEncodedBodyLeftOpen(t *testing.T) {
	text := make([]byte, 60<<10) // hex: about half of it survives compression
	rand.Read(text)
	page := []byte("<html><p>" + hex.EncodeToString(text) + "</p></html>")
	member := gzipBytes(t, page[:1000])
	encodings := []struct {
		name, coding string
		body         []byte
		split        int // where the pause comes; 0: halfway
	}{
		{"zlib", "deflate", zlibBytes(t, page), 0},
		{"raw deflate", "deflate", flateBytes(t, page), 0},
		{"br", "br", brotliBytes(t, page), 0},
		{"gzip", "gzip", gzipBytes(t, page), 0},
		{"gzip members", "gzip", append(member, gzipBytes(t, page[1000:])...), len(member)},
		{"deflate then gzip", "deflate, gzip", gzipBytes(t, zlibBytes(t, page)), 0},
	}
	// send writes body in two parts, a pause between them.
	send := func(w io.Writer, flush func(), body []byte, split int) {
		w.Write(body[:split])
		flush()
		time.Sleep(100 * time.Millisecond)
		w.Write(body[split:])
		flush()
	}
	openChunked := func(encoding string, body []byte, split int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", encoding)
			send(w, w.(http.Flusher).Flush, body, split)
			<-r.Context().Done() // no final chunk (over HTTP/2: no END_STREAM)
		})
	}
	servers := []struct {
		name  string
		start func(encoding string, body []byte, split int) (*Client, string)
	}{
		{"chunked", func(encoding string, body []byte, split int) (*Client, string) {
			return nil, newServer(t, openChunked(encoding, body, split)).URL
		}},
		{"no length", func(encoding string, body []byte, split int) (*Client, string) {
			return nil, newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, buf, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Errorf("hijack: %v", err)
					return
				}
				defer conn.Close()
				fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nConnection: close\r\n\r\n", encoding)
				send(buf, func() { buf.Flush() }, body, split)
				io.Copy(io.Discard, conn) // until the client hangs up
			})).URL
		}},
		{"http2", func(encoding string, body []byte, split int) (*Client, string) {
			srv, c := newHTTP2Server(t, openChunked(encoding, body, split), nil)
			return c, srv.URL
		}},
	}
	for _, s := range servers {
		for _, e := range encodings {
			t.Run(s.name+"/"+e.name, func(t *testing.T) {
				t.Parallel()
				split := e.split
				if split == 0 {
					split = len(e.body) / 2
				}
				c, url := s.start(e.coding, e.body, split)
				if c == nil {
					c = newClient(t, Options{})
				}
				c.timeout = 4 * time.Second
				start := time.Now()
				resp, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, url)})
				took := time.Since(start)
				if err != nil {
					t.Fatalf("after %v: %v; want the complete page", took.Round(time.Millisecond), err)
				}
				if !bytes.Equal(resp.Body, page) || resp.Truncated {
					t.Errorf("body %d bytes, truncated %v; want the %d-byte page", len(resp.Body), resp.Truncated, len(page))
				}
				if took > 2*time.Second {
					t.Errorf("took %v; want the page long before the 4s Timeout", took.Round(time.Millisecond))
				}
			})
		}
	}
}

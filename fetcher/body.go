package fetcher

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
)

const (
	// drainBytes is how much of an unread body tail is discarded to let the
	// connection be reused; longer tails close the connection instead.
	drainBytes = 64 << 10
	// maxEncodings bounds stacked content codings ("gzip, br"); longer
	// stacks are treated like unknown codings and kept raw, and so are
	// stacks with more than one "br" (each br decoder holds a window; see
	// brotliWindowBits).
	maxEncodings = 3
	// endGrace is how long the reads past the end of an encoded stream
	// wait for the server (see bodyEnd).
	endGrace = 500 * time.Millisecond
)

// errWireLimit is returned by wireReader once the wire cap is reached. It
// never escapes the package: hitting the cap means Truncated, not failure.
var errWireLimit = errors.New("wire byte limit reached")

// wireReader counts body bytes read from the connection, stops at limit and
// remembers the first transport error, so that decoder errors caused by the
// connection can be told apart from undecodable content.
//
// With stacked codings, a wireReader also caps what each inner decoder
// reads from the decoder below it (see decodeCapped); its err is then
// unused.
type wireReader struct {
	r        io.Reader
	n        int64
	limit    int64
	hitLimit bool
	err      error
	end      *bodyEnd // errors past the stream's end are not remembered; nil: none
}

func (w *wireReader) Read(p []byte) (int, error) {
	if w.n >= w.limit {
		w.hitLimit = true
		return 0, errWireLimit
	}
	if rest := w.limit - w.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := w.r.Read(p)
	w.n += int64(n)
	if err != nil && err != io.EOF && w.err == nil && !w.end.past() {
		w.err = err
	}
	return n, err
}

// bodyEnd bounds the wait for the server past the end of an encoded
// stream. A server may send a complete gzip, br or deflate stream and then
// leave the body open (no final chunk, no close of a connection without
// Content-Length, no END_STREAM): reading on, for another gzip member or
// to drain the body for reuse, would wait until Timeout for bytes that
// add nothing. From an end on, the reads get endGrace, after which stop
// closes the body; an error they meet does not fail the body, which is
// complete: only its connection is not reused. A nil *bodyEnd is inert.
type bodyEnd struct {
	stop func()

	mu    sync.Mutex
	at    bool        // the stream is at an end: reads are past it
	timer *time.Timer // running out the grace; only the current one may call stop
	fired bool        // stop was called
}

// reached marks the end of the stream (of a gzip member, say): reading
// on gets endGrace.
func (e *bodyEnd) reached() {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.at = true
	if e.timer != nil || e.fired {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(endGrace, func() {
		e.mu.Lock() // after reached has set e.timer to t
		now := e.timer == t
		if now {
			e.timer, e.fired = nil, true
		}
		e.mu.Unlock()
		if now {
			e.stop()
		}
	})
	e.timer = t
}

// disarmLocked stops the running grace, if any. e.mu is held.
func (e *bodyEnd) disarmLocked() {
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
}

// resume reports whether the stream may go on past its end (another gzip
// member follows), and takes the grace back if so; false when the grace
// has run out: the body ends where the stream did.
func (e *bodyEnd) resume() bool {
	if e == nil {
		return true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fired {
		return false
	}
	e.at = false
	e.disarmLocked()
	return true
}

// past reports whether the stream is at its end.
func (e *bodyEnd) past() bool {
	if e == nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.at
}

// close stops the grace: the body has been read.
func (e *bodyEnd) close() {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.disarmLocked()
}

// bodyResult is what readBody learned; err is nil on success, truncation
// included.
type bodyResult struct {
	data      []byte
	truncated bool
	wireBytes int64
	err       error
	decodeErr bool // err comes from a content decoder, not the connection
}

// wireLimit is the wire cap for a decoded cap of maxBody. Identity bodies
// stop at maxBody+1 through the decoded cap; the extra room lets an encoded
// body whose compressed form is slightly larger than its content (stored
// deflate blocks, incompressible data) still decode completely.
func wireLimit(maxBody int64) int64 {
	return addSat(addSat(maxBody, maxBody/16), 4096)
}

// addSat returns a+b for non-negative a and b, or math.MaxInt64 where the
// sum would overflow: caps near MaxInt64 (a Content-Length, MaxBodyBytes)
// then mean "no limit" instead of wrapping to negative.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// readBody reads and decodes hresp.Body, holding at most maxBody+1 decoded
// bytes and reading at most wireLimit(maxBody) bytes from the connection
// (plus up to drainBytes after a complete read). The caller closes the
// body.
//
// grow is called before the decoded buffer grows to hold size bytes (the
// old and the new buffer together); an error stops reading.
func readBody(hresp *http.Response, maxBody int64, grow func(size int64) error) bodyResult {
	// Closing the body makes a read blocked on it return (net/http allows
	// it while a read is in progress) and keeps the connection from reuse.
	// Only an encoded stream has an end before its body's (nil is inert).
	var end *bodyEnd
	if len(hresp.Header.Values("Content-Encoding")) > 0 {
		end = &bodyEnd{stop: func() { _ = hresp.Body.Close() }}
		defer end.close()
	}
	wire := &wireReader{r: hresp.Body, limit: wireLimit(maxBody), end: end}
	hint := int64(0)
	if hresp.ContentLength > 0 && len(hresp.Header.Values("Content-Encoding")) == 0 {
		hint = hresp.ContentLength
	}
	data, truncated, err := decodeCapped(wire, hresp.Header.Values("Content-Encoding"), maxBody, hint, grow, end)
	res := bodyResult{data: data, truncated: truncated}
	switch {
	case truncated:
	case err != nil && wire.hitLimit:
		res.truncated = true // decoder starved by the wire cap
	case wire.err != nil:
		res.err = wire.err // the connection failed; a decoder error is a symptom
	case errors.Is(err, ErrBodyMemory):
		res.err = err // the body got no memory from the budget
	case err != nil:
		res.err, res.decodeErr = err, true
	default:
		// Drain a short tail (e.g. bytes after the end of an encoded
		// stream) so the connection can be reused; Close discards the
		// connection if more remains. A truncated body is not drained: its
		// tail is long, and a slow server would hold Fetch until Timeout.
		// A server that leaves the body open gets endGrace.
		end.reached()
		wire.limit = addSat(wire.n, drainBytes)
		_, _ = io.Copy(io.Discard, wire)
	}
	res.wireBytes = wire.n
	return res
}

// decodeCapped decodes wire according to the Content-Encoding header values
// and reads at most maxBody+1 decoded bytes. It returns the body cut to
// maxBody, whether it was cut, and the error that stopped reading, wrapped
// with the codings when they are being decoded. The decoder reading wire
// tells end when its stream reaches an end.
func decodeCapped(wire io.Reader, contentEncoding []string, maxBody, sizeHint int64, grow func(int64) error, end *bodyEnd) (data []byte, truncated bool, err error) {
	src := bufioPool.Get().(*bufio.Reader)
	src.Reset(wire)
	defer func() { // after the decoders' deferred Close
		src.Reset(nil)
		bufioPool.Put(src)
	}()
	if _, err := src.Peek(1); err != nil {
		if err == io.EOF {
			return nil, false, nil // empty body, whatever its encoding claims
		}
		return nil, false, err
	}

	r := io.Reader(src)
	codings := parseContentEncoding(contentEncoding)
	// Codings are listed in the order they were applied; undo them in
	// reverse. The wire cap bounds only what the outermost decoder reads:
	// each inner one reads another decoder's output, which can be hundreds
	// of times larger (an endless stream of empty deflate blocks inside
	// gzip would keep the CPU busy until Timeout while decoding to
	// nothing). So each inner decoder reads through a cap of its own, the
	// same size and meaning as the wire cap: its input is an encoded
	// stream too. Single codings, the common case, get no extra reader.
	var layers [maxEncodings - 1]*wireReader // by coding index; nil for the outermost
	for i := len(codings) - 1; i >= 0; i-- {
		decEnd := end // only the outermost decoder reads the wire
		if i < len(codings)-1 {
			layers[i] = &wireReader{r: r, limit: wireLimit(maxBody)}
			r, decEnd = layers[i], nil
		}
		dec, err := newDecoder(codings[i], r, maxBody, decEnd)
		if err != nil {
			if layerCapHit(&layers) {
				return nil, true, nil
			}
			return nil, false, fmt.Errorf("decode %s: %w", codings[i], err)
		}
		defer dec.Close()
		r = dec
	}

	data, err = readCapped(r, addSat(maxBody, 1), sizeHint, grow)
	if int64(len(data)) > maxBody {
		return data[:maxBody:maxBody], true, nil
	}
	if err != nil && layerCapHit(&layers) {
		return data, true, nil // an inner decoder starved by its cap
	}
	if err != nil && codings != nil {
		err = fmt.Errorf("decode %s: %w", strings.Join(codings, ", "), err)
	}
	return data, false, err
}

// layerCapHit reports whether an inner decoder's cap stopped reading.
func layerCapHit(layers *[maxEncodings - 1]*wireReader) bool {
	for _, l := range layers {
		if l != nil && l.hitLimit {
			return true
		}
	}
	return false
}

// parseContentEncoding returns the lowercased content codings to undo, or
// nil when the body is to be kept as received: no coding, only "identity",
// an unknown coding, more than maxEncodings of them, or "br" more than
// once.
func parseContentEncoding(values []string) []string {
	var codings []string
	brotlis := 0
	for _, v := range values {
		for _, c := range strings.Split(v, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			switch c {
			case "", "identity":
				continue
			case "x-gzip":
				c = "gzip"
			case "br":
				if brotlis++; brotlis > 1 {
					return nil
				}
			case "gzip", "deflate":
			default:
				return nil
			}
			codings = append(codings, c)
		}
	}
	if len(codings) > maxEncodings {
		return nil
	}
	return codings
}

// newDecoder returns a streaming decoder for one content coding, for a body
// capped at maxBody decoded bytes. A gzip decoder tells end when a member
// ends (end may be nil). The others return io.EOF at the end of their
// stream without reading past it.
func newDecoder(coding string, r io.Reader, maxBody int64, end *bodyEnd) (io.ReadCloser, error) {
	switch coding {
	case "gzip":
		return newGzipMembers(r, end)
	case "deflate":
		// "deflate" is specified as zlib-wrapped (RFC 9110), but many
		// servers send raw deflate; like browsers, try the zlib header
		// first.
		br := bufio.NewReader(r)
		if hdr, err := br.Peek(2); err == nil && isZlibHeader(hdr[0], hdr[1]) {
			return zlib.NewReader(br)
		}
		return flate.NewReader(br), nil
	case "br":
		return io.NopCloser(newBrotliEnd(newBrotliHead(r, brotliWindowBits(maxBody)))), nil
	default:
		return nil, fmt.Errorf("unsupported content coding %q", coding)
	}
}

// brotliWindowBits is the largest brotli window, as WBITS, that decoding a
// body capped at maxBody needs: the smallest WBITS in 18..24 whose window,
// (1<<WBITS)-16 bytes (RFC 7932 §9.1), holds maxBody+1 bytes.
//
// The brotli decoder allocates its ring buffer as the stream asks, up to
// the window the stream declares in its first byte: a few bytes declaring
// a 16 MiB window and a 16 MiB meta-block make it allocate 16 MiB, whatever
// the cap. Clamping the declared window to this size bounds that buffer by
// the cap (less than 2*(maxBody+17), or 256 KiB for small caps) without
// changing the bytes Fetch keeps: a distance is a back-reference when at
// most min(output so far, window) and a static-dictionary reference
// otherwise, and for every command starting within the first maxBody+1
// bytes that minimum is the output so far under either window; the
// distance codes themselves do not depend on WBITS. Output past the cap
// may decode differently, and is never read. (Should it fail to decode
// instead, which takes a reference longer than the clamped window made
// within the window's last 16 bytes, output the decoder has not handed
// out yet is lost and the body fails as undecodable rather than coming
// back Truncated: rare enough to accept.)
func brotliWindowBits(maxBody int64) uint {
	bits := uint(18)
	for bits < 24 && int64(1)<<bits-16 < addSat(maxBody, 1) {
		bits++
	}
	return bits
}

// brotliHead passes a brotli stream through with its WBITS clamped to
// maxBits (see brotliWindowBits).
type brotliHead struct {
	r     io.Reader
	first [1]byte
	held  bool // first is read from r and not yet returned
}

// newBrotliHead reads the first byte of the brotli stream in r and clamps
// the WBITS it encodes (RFC 7932 §9.1, read from the least significant
// bit): a 0 bit is WBITS 16; a 1 bit followed by a 3-bit n other than 0
// is WBITS 17+n, 18 to 24; a 1 bit followed by n = 0 starts a 7-bit code
// for 10 to 17 (or the large-window marker, which the decoder rejects).
// Only the 4-bit codes declare windows above 128 KiB, and any of them can
// be replaced by another without moving the bits that follow, so maxBits
// must be within 18..24.
func newBrotliHead(r io.Reader, maxBits uint) *brotliHead {
	h := &brotliHead{r: r}
	if n, _ := io.ReadFull(r, h.first[:]); n == 0 {
		return h // the decoder reads the error (or EOF) again from r
	}
	b := h.first[0]
	if n := uint(b>>1) & 7; b&1 == 1 && n != 0 && 17+n > maxBits {
		h.first[0] = b&^0x0e | byte(maxBits-17)<<1
	}
	h.held = true
	return h
}

func (h *brotliHead) Read(p []byte) (int, error) {
	if !h.held || len(p) == 0 {
		return h.r.Read(p)
	}
	p[0], h.held = h.first[0], false
	n, err := h.r.Read(p[1:])
	return n + 1, err
}

// brotliEnd returns io.EOF once a brotli stream is complete, without
// reading past it. brotli.Reader says that its stream is complete only
// when its source ends too: after the last meta-block it reads its source
// again, and waits for a server that leaves the body open. So before each
// read of the source, the decoder is offered the end of its input
// instead: one that is done returns io.EOF, one that needs more returns
// io.ErrUnexpectedEOF and is called again with the source's bytes. A
// missing input is no decoding error to brotli.Reader: it returns before
// decoding anything and keeps its state. (TestFetchEncodedBodyLeftOpen
// holds it to that: its br body comes in two parts, a pause between them,
// and is left open.)
type brotliEnd struct {
	dec *brotli.Reader
	src brotliSource
}

// brotliSource is brotliEnd's decoder's source.
type brotliSource struct {
	r     io.Reader
	probe bool // the next Read returns io.EOF without reading r
}

func newBrotliEnd(r io.Reader) *brotliEnd {
	b := &brotliEnd{src: brotliSource{r: r}}
	b.dec = brotli.NewReader(&b.src)
	return b
}

func (s *brotliSource) Read(p []byte) (int, error) {
	if s.probe {
		s.probe = false
		return 0, io.EOF
	}
	return s.r.Read(p)
}

func (b *brotliEnd) Read(p []byte) (int, error) {
	b.src.probe = true
	n, err := b.dec.Read(p)
	if b.src.probe { // the decoder did not read its source
		b.src.probe = false
		return n, err
	}
	if n == 0 && err == io.ErrUnexpectedEOF { // not done: read the source
		return b.dec.Read(p)
	}
	return n, err // io.EOF: done
}

// isZlibHeader reports whether cmf, flg form a valid RFC 1950 header with
// the deflate method and no preset dictionary.
func isZlibHeader(cmf, flg byte) bool {
	return cmf&0x0f == 8 && cmf>>4 <= 7 && flg&0x20 == 0 && (uint16(cmf)<<8|uint16(flg))%31 == 0
}

// gzipMembers decodes concatenated gzip members and ignores trailing bytes
// that do not start another member, as browsers do; gzip.Reader's own
// multistream mode fails on such junk. Hand-written because no library here
// offers that tolerance.
//
// Looking for another member reads past a member's end: end gives it
// endGrace, and a body that is still open then ends with the last member.
type gzipMembers struct {
	br  *bufio.Reader
	z   *gzip.Reader
	end *bodyEnd // nil: wait for another member as long as it takes
}

func newGzipMembers(r io.Reader, end *bodyEnd) (*gzipMembers, error) {
	br := bufio.NewReader(r) // an io.ByteReader: gzip reads no further than each member's end
	z, err := gzip.NewReader(br)
	if err != nil {
		return nil, err
	}
	z.Multistream(false)
	return &gzipMembers{br: br, z: z, end: end}, nil
}

func (g *gzipMembers) Read(p []byte) (int, error) {
	for {
		n, err := g.z.Read(p)
		if err != io.EOF {
			return n, err
		}
		if n > 0 {
			return n, nil // report the member's end on the next call
		}
		g.end.reached()
		if magic, _ := g.br.Peek(2); len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b || !g.end.resume() {
			return 0, io.EOF
		}
		if err := g.z.Reset(g.br); err != nil {
			return 0, err
		}
		g.z.Multistream(false)
	}
}

func (g *gzipMembers) Close() error { return g.z.Close() }

// readCapped reads r to EOF or limit bytes, whichever comes first. Unlike
// io.ReadAll, whose buffer grows by about 1.25x at large sizes and leaves
// several times the final size behind as garbage, it starts from sizeHint
// (the Content-Length, when known) and doubles, so a body costs at most
// twice its size while being read. Without a hint it first reads into a
// pooled scratch buffer of scratchSize bytes: a body that fits (most
// pages) is returned as an exact-size copy, neither zeroed first nor
// rounded up to 32 KiB (an 8 KB chunked page used to allocate 32 KiB).
//
// grow, when not nil, is called before each allocation with the bytes the
// buffers will then hold; its error stops reading.
func readCapped(r io.Reader, limit, sizeHint int64, grow func(int64) error) ([]byte, error) {
	if grow == nil {
		grow = func(int64) error { return nil }
	}
	var buf []byte
	if sizeHint > 0 {
		size := min(addSat(sizeHint, 1), limit) // +1 to see EOF without growing
		if err := grow(size); err != nil {
			return nil, err
		}
		buf = make([]byte, 0, size)
	} else {
		size := min(scratchSize, limit)
		if err := grow(2 * size); err != nil { // the scratch buffer and the copy
			return nil, err
		}
		sp := scratchPool.Get().(*[]byte)
		defer scratchPool.Put(sp)
		read := (*sp)[:0:size]
		var err error
		for len(read) < cap(read) && err == nil {
			var n int
			n, err = r.Read(read[len(read):cap(read)])
			read = read[:len(read)+n]
		}
		switch {
		case err == io.EOF:
			return bytes.Clone(read), nil
		case err != nil:
			return bytes.Clone(read), err
		case size >= limit:
			return bytes.Clone(read), nil
		}
		next := min(2*size, limit)
		if err := grow(addSat(size, next)); err != nil {
			return bytes.Clone(read), err
		}
		buf = append(make([]byte, 0, next), read...)
	}
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= limit {
				return buf, nil
			}
			next := min(addSat(int64(cap(buf)), int64(cap(buf))), limit)
			if err := grow(addSat(int64(cap(buf)), next)); err != nil {
				return buf, err
			}
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// bufioPool holds decodeCapped's readers over the wire.
var bufioPool = sync.Pool{New: func() any { return bufio.NewReader(nil) }}

// scratchSize is the size of readCapped's pooled buffers.
const scratchSize = 32 << 10

// scratchPool holds readCapped's buffers (*[]byte of scratchSize bytes).
var scratchPool = sync.Pool{New: func() any {
	b := make([]byte, scratchSize)
	return &b
}}

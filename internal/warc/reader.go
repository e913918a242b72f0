package warc

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/textproto"
	"strconv"

	"github.com/klauspost/compress/gzip"
)

// Record is one WARC record read back.
type Record struct {
	// Header holds the record's named fields (WARC-Type, WARC-Target-URI,
	// Content-Length, ...), keyed in canonical MIME form.
	Header textproto.MIMEHeader
	// Block is the record's content block, exactly Content-Length bytes.
	Block []byte
}

// Type returns the record's WARC-Type.
func (r *Record) Type() string { return r.Header.Get("WARC-Type") }

// Payload returns the entity body of a response record's HTTP block: what
// follows the HTTP header's blank line. It is nil for other records or
// when the block holds no complete HTTP header.
func (r *Record) Payload() []byte {
	if r.Type() != TypeResponse {
		return nil
	}
	i := bytes.Index(r.Block, []byte("\r\n\r\n"))
	if i < 0 {
		return nil
	}
	return r.Block[i+4:]
}

// Reader reads the records of a WARC file written one gzip member per
// record, and verifies each as it goes. It is not safe for concurrent use.
type Reader struct {
	br *bufio.Reader
	gz *gzip.Reader
	n  int // records read
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReader(r)}
}

// Next returns the next record, or io.EOF after the last. It checks that
// the record is alone in its gzip member, that Content-Length matches the
// block, that the record ends with two CRLFs, and that the
// WARC-Block-Digest and (for responses) WARC-Payload-Digest match.
func (r *Reader) Next() (*Record, error) {
	if _, err := r.br.Peek(1); err == io.EOF {
		return nil, io.EOF
	}
	var err error
	if r.gz == nil {
		r.gz, err = gzip.NewReader(r.br)
	} else {
		err = r.gz.Reset(r.br)
	}
	if err != nil {
		return nil, fmt.Errorf("record %d: gzip: %v: %w", r.n+1, err, ErrFormat)
	}
	r.gz.Multistream(false)
	r.n++
	rec, err := readRecord(bufio.NewReader(r.gz))
	if err != nil {
		return nil, fmt.Errorf("record %d: %w", r.n, err)
	}
	if err := rec.verify(); err != nil {
		return nil, fmt.Errorf("record %d (%s): %w", r.n, rec.Header.Get("WARC-Target-URI"), err)
	}
	return rec, nil
}

// readRecord reads one whole record from the decompressed member and
// checks nothing follows it.
func readRecord(br *bufio.Reader) (*Record, error) {
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return nil, fmt.Errorf("version line: %v: %w", err, ErrFormat)
	}
	if line != Version {
		return nil, fmt.Errorf("version line %q: %w", line, ErrFormat)
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return nil, fmt.Errorf("header: %v: %w", err, ErrFormat)
	}
	n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("Content-Length %q: %w", h.Get("Content-Length"), ErrFormat)
	}
	block := make([]byte, n)
	if _, err := io.ReadFull(br, block); err != nil {
		return nil, fmt.Errorf("block shorter than Content-Length %d: %w", n, ErrFormat)
	}
	var end [4]byte
	if _, err := io.ReadFull(br, end[:]); err != nil || string(end[:]) != "\r\n\r\n" {
		return nil, fmt.Errorf("record does not end with CRLF CRLF after Content-Length %d: %w", n, ErrFormat)
	}
	if rest, _ := io.Copy(io.Discard, br); rest != 0 {
		return nil, fmt.Errorf("%d bytes after the record in its gzip member: %w", rest, ErrFormat)
	}
	return &Record{Header: h, Block: block}, nil
}

// verify checks the record's digests.
func (rec *Record) verify() error {
	if want := rec.Header.Get("WARC-Block-Digest"); want != "" {
		if got := Digest(rec.Block); got != want {
			return fmt.Errorf("WARC-Block-Digest %s, block hashes to %s: %w", want, got, ErrDigest)
		}
	}
	if want := rec.Header.Get("WARC-Payload-Digest"); want != "" && rec.Type() == TypeResponse {
		p := rec.Payload()
		if p == nil {
			return fmt.Errorf("response block has no HTTP header: %w", ErrFormat)
		}
		if got := Digest(p); got != want {
			return fmt.Errorf("WARC-Payload-Digest %s, payload hashes to %s: %w", want, got, ErrDigest)
		}
	}
	return nil
}

// Package warc writes and reads WARC 1.1 files (ISO 28500:2017): a
// warcinfo record, then one response record per archived page, each record
// compressed as its own gzip member so archival tools can seek to any
// record.
//
// It is written here rather than imported because the Go WARC libraries
// are not among the module's dependencies; it covers only what the crawler
// exports (warcinfo and response records) and what its tests read back.
package warc

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Version is the WARC version line every record starts with.
const Version = "WARC/1.1"

// Record types written by Writer.
const (
	TypeWarcinfo = "warcinfo"
	TypeResponse = "response"
)

// Response is one archived HTTP exchange's response.
type Response struct {
	URL    string      // WARC-Target-URI
	Date   time.Time   // WARC-Date: when the response was received
	Status int         // HTTP status code; must be 100..999
	Header http.Header // response headers as received; nil = none
	// Body is the entity body as stored, after any Content-Encoding was
	// removed. The written headers drop Content-Encoding, Transfer-Encoding
	// and Content-Length and state the real Content-Length of Body.
	Body []byte
	// Truncated marks a body cut short at the fetcher's size limit; the
	// record then carries "WARC-Truncated: length".
	Truncated bool
}

// Writer writes WARC records, each as its own gzip member. It is not safe
// for concurrent use.
type Writer struct {
	w   io.Writer
	gz  *gzip.Writer
	buf bytes.Buffer // the record's uncompressed bytes
	now func() time.Time
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, gz: gzip.NewWriter(w), now: time.Now}
}

// WriteInfo writes a warcinfo record whose block holds fields as
// "name: value" lines (application/warc-fields), in the order given.
// fields alternate names and values.
func (w *Writer) WriteInfo(filename string, fields ...string) error {
	if len(fields)%2 != 0 {
		return fmt.Errorf("warc: WriteInfo: odd number of field strings")
	}
	var block bytes.Buffer
	for i := 0; i < len(fields); i += 2 {
		fmt.Fprintf(&block, "%s: %s\r\n", clean(fields[i]), clean(fields[i+1]))
	}
	h := [][2]string{
		{"WARC-Type", TypeWarcinfo},
		{"WARC-Record-ID", newRecordID()},
		{"WARC-Date", formatDate(w.now())},
	}
	if filename != "" {
		h = append(h, [2]string{"WARC-Filename", clean(filename)})
	}
	h = append(h, [2]string{"Content-Type", "application/warc-fields"})
	return w.write(h, block.Bytes())
}

// WriteResponse writes r as a response record with
// Content-Type "application/http;msgtype=response" and sha1 block and
// payload digests.
func (w *Writer) WriteResponse(r *Response) error {
	if r.Status < 100 || r.Status > 999 {
		return fmt.Errorf("warc: %s: status %d is not an HTTP status", r.URL, r.Status)
	}
	var block bytes.Buffer
	text := http.StatusText(r.Status)
	if text == "" {
		text = "Status " + strconv.Itoa(r.Status)
	}
	fmt.Fprintf(&block, "HTTP/1.1 %d %s\r\n", r.Status, text)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Encoding", "Transfer-Encoding", "Content-Length":
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&block, "%s: %s\r\n", clean(k), clean(v))
		}
	}
	fmt.Fprintf(&block, "Content-Length: %d\r\n\r\n", len(r.Body))
	block.Write(r.Body)

	h := [][2]string{
		{"WARC-Type", TypeResponse},
		{"WARC-Record-ID", newRecordID()},
		{"WARC-Date", formatDate(r.Date)},
		{"WARC-Target-URI", clean(r.URL)},
		{"Content-Type", "application/http;msgtype=response"},
		{"WARC-Payload-Digest", Digest(r.Body)},
	}
	if r.Truncated {
		h = append(h, [2]string{"WARC-Truncated", "length"})
	}
	return w.write(h, block.Bytes())
}

// write frames one record (header fields, block digest, length, block,
// two CRLFs) and compresses it as one gzip member.
func (w *Writer) write(fields [][2]string, block []byte) error {
	w.buf.Reset()
	w.buf.WriteString(Version + "\r\n")
	for _, f := range fields {
		fmt.Fprintf(&w.buf, "%s: %s\r\n", f[0], f[1])
	}
	fmt.Fprintf(&w.buf, "WARC-Block-Digest: %s\r\n", Digest(block))
	fmt.Fprintf(&w.buf, "Content-Length: %d\r\n\r\n", len(block))
	w.buf.Write(block)
	w.buf.WriteString("\r\n\r\n")
	w.gz.Reset(w.w)
	if _, err := w.gz.Write(w.buf.Bytes()); err != nil {
		return fmt.Errorf("warc: write record: %w", err)
	}
	if err := w.gz.Close(); err != nil {
		return fmt.Errorf("warc: write record: %w", err)
	}
	return nil
}

// Digest returns the WARC digest of b: "sha1:" and the SHA-1 in base32.
func Digest(b []byte) string {
	sum := sha1.Sum(b)
	return "sha1:" + base32.StdEncoding.EncodeToString(sum[:])
}

// formatDate formats t as a WARC-Date (UTC, second precision).
func formatDate(t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// newRecordID returns a random (version 4) UUID URN in angle brackets.
func newRecordID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails on supported platforms
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("<urn:uuid:%x-%x-%x-%x-%x>", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// clean keeps a header name or value on one line.
func clean(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
}

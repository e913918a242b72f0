// Package warc writes and reads WARC 1.1 files (ISO 28500:2017): a
// warcinfo record, then one response record per archived page (and a
// revisit record for a later 304 Not Modified of it), each record
// compressed as its own gzip member so archival tools can seek to any
// record.
//
// It is written here rather than imported because the Go WARC libraries
// are not among the module's dependencies; it covers only what the crawler
// exports (warcinfo, response and server-not-modified revisit records) and
// what its tests read back.
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
	TypeRevisit  = "revisit"
)

// ProfileServerNotModified is the WARC-Profile of the revisit records
// Writer writes (WARC 1.1 §6.7.3): the server asserted, with a 304 Not
// Modified, that the content had not changed since the record referred to.
const ProfileServerNotModified = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"

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

// Revisit is a later visit to an archived response that the server
// answered 304 Not Modified.
type Revisit struct {
	URL    string      // WARC-Target-URI
	Date   time.Time   // WARC-Date: when the 304 was received
	Header http.Header // the 304's headers as received; nil = none
	// RefersTo is the revisited response record's WARC-Record-ID, as
	// WriteResponse returned it; "" leaves WARC-Refers-To out.
	RefersTo string
	// RefersToURL and RefersToDate are the revisited response's
	// WARC-Target-URI and WARC-Date (its capture time); both required.
	RefersToURL  string
	RefersToDate time.Time
	// PayloadDigest is the revisited response's WARC-Payload-Digest
	// (Digest of its body): the payload of a server-not-modified revisit
	// is the content the 304 confirmed. "" leaves it out.
	PayloadDigest string
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

// Written is what WriteResponse wrote that a revisit of the response
// refers to.
type Written struct {
	ID            string // WARC-Record-ID
	PayloadDigest string // WARC-Payload-Digest: Digest of the body
}

// WriteResponse writes r as a response record with
// Content-Type "application/http;msgtype=response" and sha1 block and
// payload digests, and returns the record's WARC-Record-ID and payload
// digest.
func (w *Writer) WriteResponse(r *Response) (Written, error) {
	if r.Status < 100 || r.Status > 999 {
		return Written{}, fmt.Errorf("warc: %s: status %d is not an HTTP status", r.URL, r.Status)
	}
	var block bytes.Buffer
	writeHTTPHead(&block, r.Status, r.Header)
	fmt.Fprintf(&block, "Content-Length: %d\r\n\r\n", len(r.Body))
	block.Write(r.Body)

	out := Written{ID: newRecordID(), PayloadDigest: Digest(r.Body)}
	h := [][2]string{
		{"WARC-Type", TypeResponse},
		{"WARC-Record-ID", out.ID},
		{"WARC-Date", formatDate(r.Date)},
		{"WARC-Target-URI", clean(r.URL)},
		{"Content-Type", "application/http;msgtype=response"},
		{"WARC-Payload-Digest", out.PayloadDigest},
	}
	if r.Truncated {
		h = append(h, [2]string{"WARC-Truncated", "length"})
	}
	return out, w.write(h, block.Bytes())
}

// WriteRevisit writes r as a revisit record with the server-not-modified
// profile, WARC-Refers-To-Target-URI and WARC-Refers-To-Date naming the
// response it revisits (and WARC-Refers-To and WARC-Payload-Digest when
// given). Its block, Content-Type "application/http;msgtype=response", is
// the 304's status line and headers: no body, so Content-Length,
// Transfer-Encoding and Content-Encoding are left out as in WriteResponse.
func (w *Writer) WriteRevisit(r *Revisit) error {
	if r.RefersToURL == "" || r.RefersToDate.IsZero() {
		return fmt.Errorf("warc: %s: revisit names no response (target URI and date required)", r.URL)
	}
	var block bytes.Buffer
	writeHTTPHead(&block, http.StatusNotModified, r.Header)
	block.WriteString("\r\n")

	h := [][2]string{
		{"WARC-Type", TypeRevisit},
		{"WARC-Record-ID", newRecordID()},
		{"WARC-Date", formatDate(r.Date)},
		{"WARC-Target-URI", clean(r.URL)},
		{"WARC-Profile", ProfileServerNotModified},
	}
	if r.RefersTo != "" {
		h = append(h, [2]string{"WARC-Refers-To", clean(r.RefersTo)})
	}
	h = append(h,
		[2]string{"WARC-Refers-To-Target-URI", clean(r.RefersToURL)},
		[2]string{"WARC-Refers-To-Date", formatDate(r.RefersToDate)},
		[2]string{"Content-Type", "application/http;msgtype=response"})
	if r.PayloadDigest != "" {
		h = append(h, [2]string{"WARC-Payload-Digest", clean(r.PayloadDigest)})
	}
	return w.write(h, block.Bytes())
}

// writeHTTPHead writes an HTTP/1.1 status line and header's fields, sorted
// by name, without Content-Encoding, Transfer-Encoding and Content-Length
// (the stored body is decoded, and the caller states its length). The
// blank line that ends the header is left to the caller.
func writeHTTPHead(block *bytes.Buffer, status int, header http.Header) {
	text := http.StatusText(status)
	if text == "" {
		text = "Status " + strconv.Itoa(status)
	}
	fmt.Fprintf(block, "HTTP/1.1 %d %s\r\n", status, text)
	keys := make([]string, 0, len(header))
	for k := range header {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Encoding", "Transfer-Encoding", "Content-Length":
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range header[k] {
			fmt.Fprintf(block, "%s: %s\r\n", clean(k), clean(v))
		}
	}
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

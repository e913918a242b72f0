package warc

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// A 304 on recrawl is archived as the response it confirmed, dated by
// its capture, and a revisit record (server-not-modified profile, WARC
// 1.1 §6.7.3) dated by the 304, naming that response and holding the
// 304's status line and headers.
func TestWriteRevisitServerNotModified(t *testing.T) {
	body := []byte("<html><title>kept</title>the body</html>")
	captured := time.Date(2024, 5, 6, 7, 8, 9, 500, time.UTC)
	revisited := captured.Add(36*time.Hour + 1500*time.Millisecond)
	var buf bytes.Buffer
	w := NewWriter(&buf)
	written, err := w.WriteResponse(&Response{URL: "http://example.com/", Date: captured, Status: 200,
		Header: http.Header{"Etag": {`"v1"`}, "Content-Type": {"text/html"}}, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	err = w.WriteRevisit(&Revisit{
		URL: "http://example.com/", Date: revisited,
		Header: http.Header{
			"Etag":           {`"v1"`},
			"Date":           {"Tue, 07 May 2024 19:08:10 GMT"},
			"Content-Length": {"999"}, // a 304 may state the 200's length; the block has no body
			"X-Bad":          {"line\r\nInjected: yes"},
		},
		RefersTo: written.ID, RefersToURL: "http://example.com/", RefersToDate: captured, PayloadDigest: written.PayloadDigest,
	})
	if err != nil {
		t.Fatal(err)
	}

	rd := NewReader(&buf)
	resp, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	rv, err := rd.Next()
	if err != nil {
		t.Fatalf("revisit record does not read back: %v", err)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("after the revisit: %v, want io.EOF", err)
	}
	if resp.Header.Get("WARC-Record-ID") != written.ID || resp.Header.Get("WARC-Payload-Digest") != written.PayloadDigest ||
		written.PayloadDigest != Digest(body) {
		t.Errorf("WriteResponse returned %+v, record has id %q and payload digest %q; want the body's digest %q", written,
			resp.Header.Get("WARC-Record-ID"), resp.Header.Get("WARC-Payload-Digest"), Digest(body))
	}
	h := rv.Header
	for field, want := range map[string]string{
		"WARC-Type":                 TypeRevisit,
		"WARC-Profile":              ProfileServerNotModified,
		"WARC-Target-URI":           "http://example.com/",
		"WARC-Date":                 "2024-05-07T19:08:10Z",
		"WARC-Refers-To":            resp.Header.Get("WARC-Record-ID"),
		"WARC-Refers-To-Target-URI": resp.Header.Get("WARC-Target-URI"),
		"WARC-Refers-To-Date":       resp.Header.Get("WARC-Date"),
		"WARC-Payload-Digest":       resp.Header.Get("WARC-Payload-Digest"),
		"Content-Type":              "application/http;msgtype=response",
		"WARC-Block-Digest":         Digest(rv.Block),
		"WARC-Truncated":            "",
	} {
		if got := h.Get(field); got != want {
			t.Errorf("revisit %s = %q, want %q", field, got, want)
		}
	}
	if h.Get("WARC-Refers-To-Date") != "2024-05-06T07:08:09Z" || h.Get("WARC-Payload-Digest") != Digest(body) {
		t.Errorf("revisit refers to %s with digest %s; want the response's capture date and body digest",
			h.Get("WARC-Refers-To-Date"), h.Get("WARC-Payload-Digest"))
	}
	idRE := regexp.MustCompile(`^<urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}>$`)
	if rid := h.Get("WARC-Record-ID"); !idRE.MatchString(rid) || rid == written.ID {
		t.Errorf("revisit record id %q: want a fresh v4 urn:uuid", rid)
	}
	if rv.Payload() != nil {
		t.Errorf("revisit Payload() = %q; the record holds none", rv.Payload())
	}

	if !bytes.HasPrefix(rv.Block, []byte("HTTP/1.1 304 Not Modified\r\n")) || !bytes.HasSuffix(rv.Block, []byte("\r\n\r\n")) {
		t.Errorf("revisit block %q: want the 304's status line and headers, ending with the blank line", rv.Block)
	}
	hr, err := http.ReadResponse(bufioReader(rv.Block), nil)
	if err != nil {
		t.Fatalf("revisit block does not parse as HTTP: %v", err)
	}
	rest, _ := io.ReadAll(hr.Body)
	if hr.StatusCode != http.StatusNotModified || hr.Header.Get("ETag") != `"v1"` ||
		hr.Header.Get("Date") != "Tue, 07 May 2024 19:08:10 GMT" || len(rest) != 0 {
		t.Errorf("revisit HTTP block: %d, header %v, body %q; want the 304 and its headers, no body", hr.StatusCode, hr.Header, rest)
	}
	if hr.Header.Get("Content-Length") != "" || hr.Header.Get("Injected") != "" {
		t.Errorf("revisit HTTP header %v: want no Content-Length and no injected line", hr.Header)
	}
}

// A revisit that does not say which response it revisits cannot be
// resolved by a reader; WriteRevisit refuses it. Without the 304's
// headers the block is the status line alone.
func TestWriteRevisitNeedsItsResponse(t *testing.T) {
	date := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	w := NewWriter(io.Discard)
	if err := w.WriteRevisit(&Revisit{URL: "http://x/", Date: date.Add(time.Hour), RefersToDate: date}); err == nil {
		t.Error("revisit without WARC-Refers-To-Target-URI accepted")
	}
	if err := w.WriteRevisit(&Revisit{URL: "http://x/", Date: date.Add(time.Hour), RefersToURL: "http://x/"}); err == nil {
		t.Error("revisit without WARC-Refers-To-Date accepted")
	}

	var buf bytes.Buffer
	w = NewWriter(&buf)
	if err := w.WriteRevisit(&Revisit{URL: "http://x/", Date: date.Add(time.Hour), RefersToURL: "http://x/", RefersToDate: date}); err != nil {
		t.Fatal(err)
	}
	rv, err := NewReader(&buf).Next()
	if err != nil {
		t.Fatal(err)
	}
	if string(rv.Block) != "HTTP/1.1 304 Not Modified\r\n\r\n" || rv.Header.Get("WARC-Refers-To") != "" || rv.Header.Get("WARC-Payload-Digest") != "" {
		t.Errorf("minimal revisit: header %v, block %q", rv.Header, rv.Block)
	}
}

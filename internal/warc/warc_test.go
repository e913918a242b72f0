package warc

import (
	"bufio"
	"bytes"
	stdgzip "compress/gzip"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func sampleResponses() []*Response {
	date := time.Date(2024, 5, 6, 7, 8, 9, 123, time.FixedZone("x", 3600))
	return []*Response{
		{
			URL: "http://example.com/", Date: date, Status: 200,
			Header: http.Header{
				"Content-Type":      {"text/html; charset=utf-8"},
				"Content-Encoding":  {"gzip"},
				"Content-Length":    {"12"},
				"Transfer-Encoding": {"chunked"},
				"Set-Cookie":        {"a=1", "b=2"},
			},
			Body: []byte("<html><title>hi</title></html>"),
		},
		{URL: "http://example.com/empty", Date: date, Status: 204},
		{URL: "http://example.com/bin", Date: date, Status: 599, Body: []byte{0, 1, 2, 0xff, '\r', '\n', '\r', '\n', 9}},
		{URL: "http://example.com/big", Date: date, Status: 404, Body: bytes.Repeat([]byte("x"), 100_000), Truncated: true,
			Header: http.Header{"X-Bad": {"line\r\nInjected: yes"}}},
	}
}

func writeSample(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteInfo("crawl.warc.gz", "software", "crawler test", "format", "WARC File Format 1.1"); err != nil {
		t.Fatal(err)
	}
	for _, r := range sampleResponses() {
		if _, err := w.WriteResponse(r); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestWriteReadBack(t *testing.T) {
	data := writeSample(t)
	rd := NewReader(bytes.NewReader(data))
	info, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	if info.Type() != TypeWarcinfo || info.Header.Get("Content-Type") != "application/warc-fields" ||
		info.Header.Get("WARC-Filename") != "crawl.warc.gz" || !bytes.Contains(info.Block, []byte("software: crawler test\r\n")) {
		t.Errorf("warcinfo = %v %q", info.Header, info.Block)
	}
	idRE := regexp.MustCompile(`^<urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}>$`)
	ids := map[string]bool{info.Header.Get("WARC-Record-ID"): true}
	for i, want := range sampleResponses() {
		rec, err := rd.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		h := rec.Header
		if rec.Type() != TypeResponse || h.Get("WARC-Target-URI") != want.URL ||
			h.Get("Content-Type") != "application/http;msgtype=response" || h.Get("WARC-Date") != "2024-05-06T06:08:09Z" {
			t.Errorf("%s: header %v", want.URL, h)
		}
		id := h.Get("WARC-Record-ID")
		if !idRE.MatchString(id) || ids[id] {
			t.Errorf("%s: record id %q not a fresh v4 urn:uuid", want.URL, id)
		}
		ids[id] = true
		if n, _ := strconv.Atoi(h.Get("Content-Length")); n != len(rec.Block) {
			t.Errorf("%s: Content-Length %d, block %d", want.URL, n, len(rec.Block))
		}
		if h.Get("WARC-Block-Digest") != Digest(rec.Block) || h.Get("WARC-Payload-Digest") != Digest(want.Body) {
			t.Errorf("%s: digests %v", want.URL, h)
		}
		if !bytes.Equal(rec.Payload(), want.Body) {
			t.Errorf("%s: payload %d bytes, want %d", want.URL, len(rec.Payload()), len(want.Body))
		}
		if got := h.Get("WARC-Truncated"); (got == "length") != want.Truncated {
			t.Errorf("%s: WARC-Truncated %q", want.URL, got)
		}
		resp, err := http.ReadResponse(bufioReader(rec.Block), nil)
		if err != nil {
			t.Fatalf("%s: HTTP block does not parse: %v", want.URL, err)
		}
		if resp.StatusCode != want.Status || resp.ContentLength != int64(len(want.Body)) ||
			resp.Header.Get("Content-Encoding") != "" || len(resp.TransferEncoding) != 0 {
			t.Errorf("%s: HTTP %d, length %d, header %v", want.URL, resp.StatusCode, resp.ContentLength, resp.Header)
		}
		if want.Header != nil && want.Header.Get("Set-Cookie") != "" && len(resp.Header["Set-Cookie"]) != 2 {
			t.Errorf("%s: repeated header lost: %v", want.URL, resp.Header)
		}
		if v := resp.Header.Get("X-Bad"); v != "" && strings.ContainsAny(v, "\r\n") || resp.Header.Get("Injected") != "" {
			t.Errorf("%s: header value broke its line: %v", want.URL, resp.Header)
		}
		body, _ := io.ReadAll(resp.Body)
		if !bytes.Equal(body, want.Body) {
			t.Errorf("%s: HTTP body differs", want.URL)
		}
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("after the last record: %v, want io.EOF", err)
	}

	// Standard multistream gzip readers see one WARC file.
	zr, err := stdgzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(all, []byte("WARC/1.1\r\n")); n < 5 {
		t.Errorf("multistream read found %d version lines, want at least 5", n)
	}
}

func TestEachRecordIsOneGzipMember(t *testing.T) {
	data := writeSample(t)
	zr, err := stdgzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	br := bytes.NewReader(data)
	zr.Reset(br)
	members := 0
	for {
		zr.Multistream(false)
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		members++
		if n := bytes.Count(b, []byte("WARC/1.1\r\n")); n != 1 {
			t.Fatalf("member %d holds %d records", members, n)
		}
		if err := zr.Reset(br); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if members != 1+len(sampleResponses()) {
		t.Errorf("%d members, want %d", members, 1+len(sampleResponses()))
	}
}

// gz compresses raw as one member.
func gz(raw string) []byte {
	var b bytes.Buffer
	w := stdgzip.NewWriter(&b)
	_, _ = w.Write([]byte(raw))
	_ = w.Close()
	return b.Bytes()
}

func TestReaderRejectsDamage(t *testing.T) {
	block := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
	rec := func(length int, blockDigest, payloadDigest, tail string) string {
		return "WARC/1.1\r\nWARC-Type: response\r\nWARC-Target-URI: http://x/\r\n" +
			"WARC-Payload-Digest: " + payloadDigest + "\r\nWARC-Block-Digest: " + blockDigest + "\r\n" +
			"Content-Length: " + strconv.Itoa(length) + "\r\n\r\n" + block + tail
	}
	good := rec(len(block), Digest([]byte(block)), Digest([]byte("hi")), "\r\n\r\n")
	if _, err := NewReader(bytes.NewReader(gz(good))).Next(); err != nil {
		t.Fatalf("hand-made good record: %v", err)
	}
	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"block digest":   {gz(rec(len(block), Digest([]byte("other")), Digest([]byte("hi")), "\r\n\r\n")), ErrDigest},
		"payload digest": {gz(rec(len(block), Digest([]byte(block)), Digest([]byte("ho")), "\r\n\r\n")), ErrDigest},
		"long length":    {gz(rec(len(block)+3, Digest([]byte(block)), Digest([]byte("hi")), "\r\n\r\n")), ErrFormat},
		"short length":   {gz(rec(len(block)-1, Digest([]byte(block)), Digest([]byte("hi")), "\r\n\r\n")), ErrFormat},
		"two in member":  {gz(good + good), ErrFormat},
		"version":        {gz(strings.Replace(good, "WARC/1.1", "WARC/0.9", 1)), ErrFormat},
		"not gzip":       {[]byte(good), ErrFormat},
	} {
		if _, err := NewReader(bytes.NewReader(tc.data)).Next(); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

func TestWriteResponseRejectsBadStatus(t *testing.T) {
	w := NewWriter(io.Discard)
	if _, err := w.WriteResponse(&Response{URL: "http://x/", Status: 0}); err == nil {
		t.Error("status 0 accepted")
	}
	if err := w.WriteInfo("f", "odd"); err == nil {
		t.Error("odd field list accepted")
	}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

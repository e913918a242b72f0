package fetcher

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func TestFetchOK(t *testing.T) {
	const page = "<html><body>hello</body></html>"
	var gotUA, gotAE, gotINM atomic.Value
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA.Store(r.UserAgent())
		gotAE.Store(r.Header.Get("Accept-Encoding"))
		gotINM.Store(r.Header.Get("If-None-Match"))
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		io.WriteString(w, page)
	}))
	c := newClient(t, Options{UserAgent: "testbot/1"})

	u := mustParse(t, srv.URL+"/page")
	resp, err := c.Fetch(context.Background(), &Request{
		URL:    u,
		Header: http.Header{"If-None-Match": {`"abc"`}, "Accept-Encoding": {"identity"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || string(resp.Body) != page || resp.Truncated {
		t.Errorf("status %d body %q truncated %v", resp.Status, resp.Body, resp.Truncated)
	}
	if resp.URL != u {
		t.Errorf("URL = %v, want the requested %v", resp.URL, u)
	}
	if resp.ContentType != "text/html" || resp.Charset != "utf-8" {
		t.Errorf("content type %q charset %q", resp.ContentType, resp.Charset)
	}
	if resp.WireBytes != int64(len(page)) {
		t.Errorf("WireBytes = %d, want %d", resp.WireBytes, len(page))
	}
	if resp.Location != nil {
		t.Errorf("Location = %v on a 200", resp.Location)
	}
	if gotUA.Load() != "testbot/1" || gotAE.Load() != acceptEncoding || gotINM.Load() != `"abc"` {
		t.Errorf("server saw UA %q, Accept-Encoding %q, If-None-Match %q", gotUA.Load(), gotAE.Load(), gotINM.Load())
	}
}

func TestFetchDefaultUserAgentAndOverride(t *testing.T) {
	var got atomic.Value
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Store(r.UserAgent()) }))
	c := newClient(t, Options{})
	get(t, c, srv.URL)
	if got.Load() != DefaultUserAgent {
		t.Errorf("User-Agent = %q, want %q", got.Load(), DefaultUserAgent)
	}
	_, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL), Header: http.Header{"User-Agent": {"special"}}})
	if err != nil || got.Load() != "special" {
		t.Errorf("per-request User-Agent: err %v, server saw %q", err, got.Load())
	}
}

// Options.Header goes with every request, Options.HostHeader only with
// its host's, over it; the request's own headers win over both.
func TestFetchConfiguredHeaders(t *testing.T) {
	var seen [2]atomic.Value
	handler := func(i int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen[i].Store(r.Header.Clone()) })
	}
	a, b := newServer(t, handler(0)), newServer(t, handler(1))
	hostA := mustParse(t, a.URL).Host
	c := newClient(t, Options{
		Header:     http.Header{"Accept-Language": {"en"}, "X-Team": {"all"}},
		HostHeader: map[string]http.Header{strings.ToUpper(hostA): {"Authorization": {"Bearer s3cret"}, "X-Team": {"a"}}},
	})
	get(t, c, a.URL)
	get(t, c, b.URL)
	ha, hb := seen[0].Load().(http.Header), seen[1].Load().(http.Header)
	if ha.Get("Authorization") != "Bearer s3cret" || ha.Get("X-Team") != "a" || ha.Get("Accept-Language") != "en" {
		t.Errorf("host A got %v; want its own Authorization and X-Team over the common headers", ha)
	}
	if hb.Get("Authorization") != "" || hb.Get("X-Team") != "all" || hb.Get("Accept-Language") != "en" {
		t.Errorf("host B got %v; want the common headers only", hb)
	}
	if _, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, a.URL), Header: http.Header{"X-Team": {"req"}}}); err != nil {
		t.Fatal(err)
	}
	if got := seen[0].Load().(http.Header).Values("X-Team"); len(got) != 1 || got[0] != "req" {
		t.Errorf("X-Team = %q; want the request's own", got)
	}
}

func TestFetchErrorStatusesAreResults(t *testing.T) {
	for _, code := range []int{404, 410, 503} {
		srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			io.WriteString(w, "nope")
		}))
		resp := get(t, newClient(t, Options{}), srv.URL)
		if resp.Status != code || string(resp.Body) != "nope" {
			t.Errorf("status %d body %q, want %d %q", resp.Status, resp.Body, code, "nope")
		}
	}
}

func TestFetchRedirectNotFollowed(t *testing.T) {
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/dir/sub/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "../other?x=1")
		w.WriteHeader(http.StatusMovedPermanently)
	})
	mux.HandleFunc("/dir/other", func(w http.ResponseWriter, r *http.Request) { followed.Add(1) })
	mux.HandleFunc("/bad", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://[::1")
		w.WriteHeader(http.StatusFound)
	})
	srv := newServer(t, mux)
	c := newClient(t, Options{})

	resp := get(t, c, srv.URL+"/dir/sub/page")
	if resp.Status != 301 {
		t.Fatalf("status = %d, want 301", resp.Status)
	}
	if want := srv.URL + "/dir/other?x=1"; resp.Location == nil || resp.Location.String() != want {
		t.Errorf("Location = %v, want %s", resp.Location, want)
	}
	if followed.Load() != 0 {
		t.Error("redirect was followed")
	}
	if resp := get(t, c, srv.URL+"/bad"); resp.Status != 302 || resp.Location != nil {
		t.Errorf("unparsable Location: status %d Location %v, want 302 and nil", resp.Status, resp.Location)
	}
}

func TestFetchTimeoutMidBody(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		ticker := time.NewTicker(50 * time.Millisecond)
		defer ticker.Stop()
		for {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-ticker.C:
			}
		}
	}))
	c := newClient(t, Options{Timeout: 300 * time.Millisecond})
	resp, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL)})
	fe := wantKind(t, err, KindTimeout)
	if !strings.HasPrefix(fe.Error(), "fetch "+srv.URL+": timeout: ") {
		t.Errorf("Error() = %q", fe.Error())
	}
	if resp == nil {
		t.Fatal("no partial response with the timeout error")
	}
	if resp.Status != 200 || len(resp.Body) == 0 || len(resp.Body) >= 1000 || strings.Trim(string(resp.Body), "x") != "" {
		t.Errorf("partial response: status %d body %q", resp.Status, resp.Body)
	}
	if resp.Truncated {
		t.Error("a timed-out body is not Truncated")
	}
}

func TestFetchTimeoutBeforeHeaders(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	c := newClient(t, Options{Timeout: 100 * time.Millisecond})
	resp, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL)})
	wantKind(t, err, KindTimeout)
	if resp != nil {
		t.Errorf("resp = %+v, want nil before headers", resp)
	}
}

// A server that keeps the response headers coming, one byte at a time,
// never finishes them: Timeout ends the request, which waiting for
// each next byte alone would never do.
func TestFetchTimeoutHeadersTrickled(t *testing.T) {
	done := make(chan struct{})
	srv := newServer(t, hijack(t, func(w io.Writer) {
		io.WriteString(w, "HTTP/1.1 200 OK\r\nX-Slow: ")
		for {
			if _, err := io.WriteString(w, "a"); err != nil || w.(interface{ Flush() error }).Flush() != nil {
				return
			}
			select {
			case <-time.After(20 * time.Millisecond):
			case <-done:
				return
			}
		}
	}))
	t.Cleanup(func() { close(done) }) // before the server's: ends the handler
	c := newClient(t, Options{Timeout: 300 * time.Millisecond})
	req := &Request{URL: mustParse(t, srv.URL)}
	finished := make(chan error, 1)
	go func() {
		_, err := c.Fetch(context.Background(), req)
		finished <- err
	}()
	select {
	case err := <-finished:
		wantKind(t, err, KindTimeout)
	case <-time.After(30 * time.Second):
		t.Fatal("Fetch still waiting for trickled headers 30s into a 300ms timeout")
	}
}

// An HTTP/1.0 response without Content-Length ends its body by closing
// the connection: the whole body, no error.
func TestFetchHTTP10BodyEndedByClose(t *testing.T) {
	body := strings.Repeat("<p>old server</p>\n", 1000)
	srv := newServer(t, hijack(t, func(w io.Writer) {
		io.WriteString(w, "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n"+body)
	}))
	resp := get(t, newClient(t, Options{}), srv.URL)
	if resp.Status != 200 || string(resp.Body) != body || resp.Truncated || resp.WireBytes != int64(len(body)) {
		t.Errorf("status %d, %d body bytes (want %d), truncated %v, wire %d", resp.Status, len(resp.Body), len(body), resp.Truncated, resp.WireBytes)
	}
}

func TestFetchCallerCancel(t *testing.T) {
	entered := make(chan struct{})
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	}))
	c := newClient(t, Options{Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-entered
		cancel()
	}()
	// If cancellation were ignored, Fetch would run into the one-minute
	// Timeout and report KindTimeout instead.
	_, err := c.Fetch(ctx, &Request{URL: mustParse(t, srv.URL)})
	fe := wantKind(t, err, KindCanceled)
	if !errors.Is(fe, context.Canceled) {
		t.Errorf("errors.Is(err, context.Canceled) = false: %v", fe)
	}
}

func TestFetchCallerDeadlineIsTimeout(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	c := newClient(t, Options{Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Fetch(ctx, &Request{URL: mustParse(t, srv.URL)})
	wantKind(t, err, KindTimeout)
}

func TestFetchKeepsCallerTrace(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	c := newClient(t, Options{})
	var wrote, firstByte atomic.Int32
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		WroteHeaders:         func() { wrote.Add(1) },
		GotFirstResponseByte: func() { firstByte.Add(1) },
	})
	if _, err := c.Fetch(ctx, &Request{URL: mustParse(t, srv.URL)}); err != nil {
		t.Fatal(err)
	}
	if wrote.Load() != 1 || firstByte.Load() != 1 {
		t.Errorf("WroteHeaders fired %d times, GotFirstResponseByte %d times; want 1 and 1", wrote.Load(), firstByte.Load())
	}
}

func TestFetchReusesConnections(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain") })
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gzipBytes(t, []byte("zipped")))
		w.Write([]byte("trailing junk after the gzip member is drained")) // not a gzip header: reader stops
	})
	srv := newServer(t, mux)
	c := newClient(t, Options{})
	fetchReused := func(path string) bool {
		var reused bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		})
		if _, err := c.Fetch(ctx, &Request{URL: mustParse(t, srv.URL+path)}); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return reused
	}
	fetchReused("/plain")
	if !fetchReused("/plain") {
		t.Error("second plain fetch did not reuse the connection")
	}
	if !fetchReused("/gzip") {
		t.Error("gzip fetch did not reuse the connection")
	}
	if !fetchReused("/plain") {
		t.Error("connection was not reusable after the gzip body")
	}
}

func TestFetchDurationUsesClock(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	c := newClient(t, Options{})
	clock := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time {
		clock = clock.Add(1500 * time.Millisecond)
		return clock
	}
	if resp := get(t, c, srv.URL); resp.Duration != 1500*time.Millisecond {
		t.Errorf("Duration = %v, want 1.5s", resp.Duration)
	}
}

func TestFetchHugeHeadersIsProtocol(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Junk", strings.Repeat("a", 70<<10))
	}))
	_, err := newClient(t, Options{}).Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL)})
	wantKind(t, err, KindProtocol)
}

// hijack returns a handler that takes over the connection and runs fn on it.
func hijack(t *testing.T, fn func(w io.Writer)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		fn(buf)
		buf.Flush()
	})
}

func TestFetchMalformedResponseIsProtocol(t *testing.T) {
	srv := newServer(t, hijack(t, func(w io.Writer) { io.WriteString(w, "SPDY/9 banana\r\n\r\n") }))
	_, err := newClient(t, Options{}).Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL)})
	wantKind(t, err, KindProtocol)
}

func TestFetchEarlyCloseIsNetwork(t *testing.T) {
	srv := newServer(t, hijack(t, func(io.Writer) {}))
	_, err := newClient(t, Options{}).Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL)})
	wantKind(t, err, KindNetwork)
}

// newHTTP2Server starts an HTTPS server that speaks HTTP/2 only and
// returns it with a client that trusts it; h serves every connection's
// first request, as net/http would, unless h2 is set: then h2 takes over
// each connection after the TLS handshake and scripts the HTTP/2 frames
// itself.
func newHTTP2Server(t *testing.T, h http.Handler, h2 func(*tls.Conn)) (*httptest.Server, *Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if h2 != nil {
		srv.Config.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){
			"h2": func(_ *http.Server, conn *tls.Conn, _ http.Handler) { h2(conn) },
		}
	}
	srv.StartTLS()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	c := newClient(t, Options{})
	c.transport.TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	return srv, c
}

// TestFetchHTTP2StreamResetIsNetwork ensures that a server aborting a
// response over HTTP/2 is KindNetwork, as the same abort over HTTP/1.1 is
// (EOF before the response, a reset in the middle of the body), so that
// crawl retries it. Over HTTP/2 the abort is an RST_STREAM, which used to
// be KindProtocol before the headers and KindBodyRead mid-body.
func TestFetchHTTP2StreamResetIsNetwork(t *testing.T) {
	srv, c := newHTTP2Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/early" {
			panic(http.ErrAbortHandler) // HTTP/2: RST_STREAM before any header
		}
		w.Header().Set("Content-Length", "1000")
		io.WriteString(w, strings.Repeat("a", 500))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // HTTP/2: RST_STREAM mid-body
	}), nil)
	for _, path := range []string{"/early", "/mid"} {
		_, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL+path)})
		var fe *Error
		if !errors.As(err, &fe) || fe.Kind != KindNetwork {
			t.Errorf("%s over HTTP/2: %v; want kind network, as the same abort over HTTP/1.1 is", path, err)
		}
	}
}

// TestFetchHTTP2GoAwayIsNetwork ensures that an HTTP/2 server closing the
// connection after a GOAWAY, before the response or in the middle of the
// body, is KindNetwork like any connection closed early, while stream
// errors the transport raises itself because the server broke the
// protocol stay KindProtocol.
func TestFetchHTTP2GoAwayIsNetwork(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers bool // send the response headers and half the body first
		end     func(fr *http2.Framer, stream uint32)
		want    Kind
	}{
		{"goaway before headers", false, func(fr *http2.Framer, stream uint32) {
			fr.WriteGoAway(stream, http2.ErrCodeInternal, nil)
		}, KindNetwork},
		{"goaway mid-body", true, func(fr *http2.Framer, stream uint32) {
			fr.WriteGoAway(stream, http2.ErrCodeNo, []byte("shutting down"))
		}, KindNetwork},
		{"malformed headers", false, func(fr *http2.Framer, stream uint32) {
			var block bytes.Buffer
			enc := hpack.NewEncoder(&block)
			enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
			enc.WriteField(hpack.HeaderField{Name: "X-Uppercase", Value: "not allowed in HTTP/2"})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: block.Bytes(), EndHeaders: true, EndStream: true})
		}, KindProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := newHTTP2Server(t, http.NotFoundHandler(), func(conn *tls.Conn) {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(testTimeout))
				if _, err := io.ReadFull(conn, make([]byte, len(http2.ClientPreface))); err != nil {
					return
				}
				fr := http2.NewFramer(conn, conn)
				fr.WriteSettings()
				var stream uint32
				for stream == 0 {
					f, err := fr.ReadFrame()
					if err != nil {
						return
					}
					switch f := f.(type) {
					case *http2.SettingsFrame:
						if !f.IsAck() {
							fr.WriteSettingsAck()
						}
					case *http2.HeadersFrame:
						stream = f.StreamID
					}
				}
				if tc.headers {
					var block bytes.Buffer
					enc := hpack.NewEncoder(&block)
					enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
					enc.WriteField(hpack.HeaderField{Name: "content-length", Value: "1000"})
					fr.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: block.Bytes(), EndHeaders: true})
					fr.WriteData(stream, false, bytes.Repeat([]byte("a"), 500))
				}
				tc.end(fr, stream)
				if tc.want == KindProtocol {
					io.Copy(io.Discard, conn) // until the client goes away
				}
			})
			_, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL)})
			wantKind(t, err, tc.want)
		})
	}
}

func TestFetchConnectionRefusedIsNetwork(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens on the port any more
	_, err := newClient(t, Options{}).Fetch(context.Background(), &Request{URL: mustParse(t, addr)})
	wantKind(t, err, KindNetwork)
}

func TestFetchUntrustedCertificateIsTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, err := newClient(t, Options{}).Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL)})
	wantKind(t, err, KindTLS)
}

func TestParseContentType(t *testing.T) {
	for _, tc := range []struct{ in, mediaType, charset string }{
		{"", "", ""},
		{"text/html", "text/html", ""},
		{"TEXT/HTML; Charset=ISO-8859-1", "text/html", "iso-8859-1"},
		{`text/html; charset="UTF-8"`, "text/html", "utf-8"},
		{"application/xhtml+xml;charset=utf-8;q=1", "application/xhtml+xml", "utf-8"},
		{"text/html; charset=utf-8; charset=latin1", "text/html", "utf-8"}, // duplicate: ParseMediaType fails
		{"text/html;;charset=Shift_JIS;", "text/html", "shift_jis"},
		{"text/plain; charset", "text/plain", ""},
		{"text/html; charset='windows-1252'", "text/html", "windows-1252"},
	} {
		mt, cs := parseContentType(tc.in)
		if mt != tc.mediaType || cs != tc.charset {
			t.Errorf("parseContentType(%q) = %q, %q; want %q, %q", tc.in, mt, cs, tc.mediaType, tc.charset)
		}
	}
}

func TestFetchInvalidRequests(t *testing.T) {
	c := newClient(t, Options{})
	for _, raw := range []string{"ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)", "mailto:a@b.c"} {
		_, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, raw)})
		if fe := wantKind(t, err, KindInvalidURL); !errors.Is(fe, ErrUnsupportedScheme) {
			t.Errorf("%s: %v does not wrap ErrUnsupportedScheme", raw, fe)
		}
	}
	for _, req := range []*Request{nil, {}, {URL: mustParse(t, "http:///path")}} {
		_, err := c.Fetch(context.Background(), req)
		if fe := wantKind(t, err, KindInvalidURL); !errors.Is(fe, ErrInvalidURL) {
			t.Errorf("%+v: %v does not wrap ErrInvalidURL", req, fe)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	err := &Error{URL: "http://x/", Kind: KindTimeout, Err: context.DeadlineExceeded}
	if got, want := err.Error(), "fetch http://x/: timeout: context deadline exceeded"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("Unwrap does not expose the cause")
	}
	for k := KindInvalidURL; k <= KindBodyRead; k++ {
		if s := k.String(); s == "" || strings.HasPrefix(s, "kind(") {
			t.Errorf("Kind(%d).String() = %q", int(k), s)
		}
	}
	if s := Kind(0).String(); s != "kind(0)" {
		t.Errorf("Kind(0).String() = %q", s)
	}
}

func TestNewTransportSettings(t *testing.T) {
	c := New(Options{Timeout: 2 * time.Second, MaxConnsPerHost: 3})
	defer c.Close()
	defer c.Close() // safe twice
	tr := c.transport
	if tr.Proxy != nil || !tr.DisableCompression || !tr.ForceAttemptHTTP2 {
		t.Errorf("Proxy set %v, DisableCompression %v, ForceAttemptHTTP2 %v", tr.Proxy != nil, tr.DisableCompression, tr.ForceAttemptHTTP2)
	}
	if tr.MaxResponseHeaderBytes != 64<<10 || tr.ResponseHeaderTimeout <= 0 || tr.ResponseHeaderTimeout > 2*time.Second {
		t.Errorf("MaxResponseHeaderBytes %d, ResponseHeaderTimeout %v", tr.MaxResponseHeaderBytes, tr.ResponseHeaderTimeout)
	}
	if tr.TLSHandshakeTimeout <= 0 || tr.TLSHandshakeTimeout > 2*time.Second {
		t.Errorf("TLSHandshakeTimeout = %v", tr.TLSHandshakeTimeout)
	}
	if tr.MaxIdleConnsPerHost != DefaultMaxIdleConnsPerHost || tr.MaxConnsPerHost != 3 || tr.MaxIdleConns != DefaultMaxIdleConns {
		t.Errorf("MaxIdleConnsPerHost %d, MaxConnsPerHost %d, MaxIdleConns %d", tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost, tr.MaxIdleConns)
	}
	e := New(Options{MaxIdleConns: 512, MaxIdleConnsPerHost: 3})
	defer e.Close()
	if e.transport.MaxIdleConns != 512 || e.transport.MaxIdleConnsPerHost != 3 {
		t.Errorf("MaxIdleConns %d, MaxIdleConnsPerHost %d; want 512, 3", e.transport.MaxIdleConns, e.transport.MaxIdleConnsPerHost)
	}
	if c.userAgent != DefaultUserAgent || c.maxBodyBytes != DefaultMaxBodyBytes || c.timeout != 2*time.Second {
		t.Errorf("defaults: UA %q, max body %d, timeout %v", c.userAgent, c.maxBodyBytes, c.timeout)
	}
	d := New(Options{})
	defer d.Close()
	if d.timeout != DefaultTimeout {
		t.Errorf("default timeout = %v", d.timeout)
	}
}

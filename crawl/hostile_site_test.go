package crawl

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"crawler/config"
	"crawler/frontier"
	"crawler/store"
)

// hostileSite is a set of loopback hosts, one httptest.Server each on its
// own address in 127.0.1.180–199, that record every request they get.
// Handlers are registered per host and path; other paths answer 404.
type hostileSite struct {
	t     *testing.T
	hosts []*hostileHost
	next  int           // next address, 180 + next
	done  chan struct{} // closed by close: ends handlers that wait forever
}

func newHostileSite(t *testing.T) *hostileSite {
	s := &hostileSite{t: t, done: make(chan struct{})}
	t.Cleanup(s.close)
	return s
}

// hostileHost is one host of a hostileSite.
type hostileHost struct {
	name   string
	addr   string // ip:port
	srv    *httptest.Server
	site   *hostileSite
	routes map[string]route

	mu   sync.Mutex
	reqs []hostileReq
}

type route struct {
	fn http.HandlerFunc
	// open: the client decides when the request ends (it stops reading
	// or times out), so the handler's end is not a reliable "the client
	// is done" instant; such requests are left out of the in-flight
	// count.
	open bool
}

// hostileReq is one request a host received.
type hostileReq struct {
	uri        string
	start, end time.Time // handler start and return
	open       bool
}

// host starts a new host named name on the next free address.
func (s *hostileSite) host(name string) *hostileHost {
	s.t.Helper()
	ip := fmt.Sprintf("127.0.1.%d", 180+s.next)
	s.next++
	if s.next > 20 {
		s.t.Fatal("hostile site: out of addresses (127.0.1.180–199)")
	}
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		s.t.Fatalf("listen on %s: %v", ip, err)
	}
	h := &hostileHost{name: name, addr: ln.Addr().String(), site: s, routes: map[string]route{}}
	h.srv = httptest.NewUnstartedServer(h)
	h.srv.Listener.Close()
	h.srv.Listener = ln
	h.srv.Start()
	s.hosts = append(s.hosts, h)
	return h
}

// deadHost returns the address of a port on the next free address that
// nothing listens on: connections are refused.
func (s *hostileSite) deadHost() string {
	s.t.Helper()
	ip := fmt.Sprintf("127.0.1.%d", 180+s.next)
	s.next++
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		s.t.Fatalf("listen on %s: %v", ip, err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func (s *hostileSite) close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	for _, h := range s.hosts {
		h.srv.CloseClientConnections()
		h.srv.Close()
	}
}

// addrs returns every host's ip:port (for scope.allowed_hosts).
func (s *hostileSite) addrs(extra ...string) []string {
	out := slices.Clone(extra)
	for _, h := range s.hosts {
		out = append(out, h.addr)
	}
	return out
}

// url returns the absolute URL of path on h.
func (h *hostileHost) url(path string) string { return "http://" + h.addr + path }

// handle serves path (a request URI) with fn.
func (h *hostileHost) handle(path string, fn http.HandlerFunc) { h.route(path, route{fn: fn}) }

// handleOpen serves path with fn, a handler whose end the client decides.
func (h *hostileHost) handleOpen(path string, fn http.HandlerFunc) {
	h.route(path, route{fn: fn, open: true})
}

func (h *hostileHost) route(path string, rt route) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.routes[path] = rt
}

// html serves path as a small UTF-8 HTML page.
func (h *hostileHost) html(path, title string, links ...string) {
	h.handle(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, htmlPage(title, links...))
	})
}

// redirect serves path as a 302 to location.
func (h *hostileHost) redirect(path, location string) {
	h.handle(path, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, location, http.StatusFound)
	})
}

// robots serves body as /robots.txt.
func (h *hostileHost) robots(body string) {
	h.handle("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, body)
	})
}

func htmlPage(title string, links ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html><html><head><title>%s</title></head><body><h1>%s</h1>\n", title, title)
	for _, l := range links {
		fmt.Fprintf(&b, "<a href=\"%s\">link</a>\n", l)
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

func (h *hostileHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	rt, ok := h.routes[r.URL.RequestURI()]
	h.mu.Unlock()
	req := hostileReq{uri: r.URL.RequestURI(), start: time.Now(), open: rt.open}
	defer func() {
		req.end = time.Now()
		h.mu.Lock()
		h.reqs = append(h.reqs, req)
		h.mu.Unlock()
	}()
	if !ok {
		http.NotFound(w, r)
		return
	}
	rt.fn(w, r)
}

// requests returns what h received, in order of arrival.
func (h *hostileHost) requests() []hostileReq {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.reqs)
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}

// starts returns when uri was requested, in order.
func (h *hostileHost) starts(uri string) []time.Time {
	var out []time.Time
	for _, r := range h.requests() {
		if r.uri == uri {
			out = append(out, r.start)
		}
	}
	return out
}

// count returns how often uri was requested.
func (h *hostileHost) count(uri string) int { return len(h.starts(uri)) }

// minGap returns the smallest gap between two request starts on h, and
// the two URIs; -1 with fewer than two requests.
func (h *hostileHost) minGap() (time.Duration, string) {
	rs := h.requests()
	gap, where := time.Duration(-1), ""
	for i := 1; i < len(rs); i++ {
		if g := rs[i].start.Sub(rs[i-1].start); gap < 0 || g < gap {
			gap, where = g, rs[i-1].uri+" → "+rs[i].uri
		}
	}
	return gap, where
}

// peakInFlight returns the most requests h handled at once, leaving out
// open requests (see route.open).
func (h *hostileHost) peakInFlight() int {
	rs := h.requests()
	peak := 0
	for _, a := range rs {
		if a.open {
			continue
		}
		n := 0
		for _, b := range rs {
			if !b.open && !b.start.After(a.start) && b.end.After(a.start) {
				n++
			}
		}
		peak = max(peak, n)
	}
	return peak
}

// wait blocks until the client goes away or the site closes.
func (s *hostileSite) wait(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.done:
	}
}

// trickle sends headers, then one byte every interval until the client
// gives up.
func (s *hostileSite) trickle(interval time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		rc := http.NewResponseController(w)
		for {
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			select {
			case <-time.After(interval):
			case <-r.Context().Done():
				return
			case <-s.done:
				return
			}
		}
	}
}

// endless streams an HTML-ish body forever (chunked), or size bytes with
// a Content-Length when size > 0, until the client stops reading.
func (s *hostileSite) endless(size int64) http.HandlerFunc {
	chunk := bytes.Repeat([]byte("<p>all work and no play makes jack a dull boy</p>\n"), 1<<10)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if size > 0 {
			w.Header().Set("Content-Length", fmt.Sprint(size))
		}
		_, _ = io.WriteString(w, "<html><head><title>endless</title></head><body>")
		for sent := int64(0); size <= 0 || sent < size; {
			select {
			case <-s.done:
				return
			default:
			}
			n := int64(len(chunk))
			if size > 0 {
				n = min(n, size-sent)
			}
			if _, err := w.Write(chunk[:n]); err != nil {
				return
			}
			sent += n
		}
	}
}

// gzipBomb is a gzip body that decodes to size zero bytes: one member of
// 1 MiB repeated (Go's readers decode concatenated members as one stream),
// about a thousandth of size on the wire.
func gzipBomb(t testing.TB, size int) []byte {
	t.Helper()
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	if _, err := zw.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.Repeat(member.Bytes(), size>>20)
}

// serveBomb serves bomb with Content-Encoding: gzip as HTML.
func serveBomb(bomb []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", fmt.Sprint(len(bomb)))
		_, _ = w.Write(bomb)
	}
}

// resetMidBody promises 64 KiB, sends a few bytes of it and resets the
// connection (RST, not FIN).
func resetMidBody(w http.ResponseWriter, r *http.Request) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 65536\r\n\r\n<html><head><title>cut")
	_ = buf.Flush()
	time.Sleep(5 * time.Millisecond) // let the client read the headers
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// hostileConfig is the short-timeout configuration the hostile tests
// crawl with: one request at a time per host, 20ms apart, retries every
// 20ms doubling up to 200ms, 1s per request, 256 KiB bodies.
func hostileConfig(t *testing.T, seeds []string, hosts []string) *config.Config {
	cfg := testConfig(t, seeds...)
	cfg.Scope.AllowedHosts = hosts
	cfg.Fetch.Concurrency = 32
	cfg.Fetch.PerHostConcurrency = 1
	cfg.Fetch.PerHostDelay = 20 * time.Millisecond
	cfg.Fetch.Timeout = time.Second
	cfg.Fetch.Retries = 3
	cfg.Fetch.RetryBaseDelay = 20 * time.Millisecond
	cfg.Fetch.RetryMaxDelay = 200 * time.Millisecond
	cfg.Fetch.MaxCrawlDelay = 250 * time.Millisecond // caps the adaptive delay too
	cfg.Fetch.MaxBodyBytes = 256 << 10
	cfg.Fetch.MaxRedirects = 5
	return cfg
}

// runCrawl crawls cfg until idle like crawlToIdle, calling during (if not
// nil) in its own goroutine while the engine runs; during must return
// when its context ends.
func runCrawl(t *testing.T, cfg *config.Config, during func(context.Context, *Engine)) *store.DB {
	t.Helper()
	return runCrawlCtx(t, context.Background(), cfg, during)
}

// runCrawlCtx is runCrawl with a context the caller may cancel to stop the
// crawl early; the store is returned either way.
func runCrawlCtx(t *testing.T, parent context.Context, cfg *config.Config, during func(context.Context, *Engine)) *store.DB {
	t.Helper()
	return crawlIdle(t, cfg, crawlOpts{during: during, parent: parent})
}

// outcome is a URL's stored state and record.
type outcome struct {
	state frontier.State
	page  *store.Page // nil when none is stored
}

func lookup(t *testing.T, db *store.DB, url string) outcome {
	t.Helper()
	var o outcome
	err := db.View(func(tx *store.Tx) error {
		st, err := frontier.URLState(tx, url)
		if err != nil {
			return fmt.Errorf("state: %w", err)
		}
		o.state = st
		p, err := tx.Page(url)
		if err == nil {
			o.page = p
		}
		return nil
	})
	if err != nil {
		t.Errorf("%s: %v", url, err)
	}
	return o
}

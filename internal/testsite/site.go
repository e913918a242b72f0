// Package testsite serves a generated multi-host web site on loopback
// addresses (127.0.1.x, one per host) and records how it was crawled:
// requests per host, repeats, robots.txt violations, the smallest gap
// between two request starts on one host and peak in-flight per host.
// Tests, the demo and the benchmarks crawl it instead of the network.
package testsite

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options shapes the site. Zero values take the defaults noted.
type Options struct {
	Hosts     int           // number of hosts; default 3
	Pages     int           // pages per host besides "/"; default 20
	Links     int           // links per page; default 5
	PageBytes int           // approximate page size; default 2048
	Latency   time.Duration // added before each response; default 0
	// CrossHost makes every CrossHost-th link point to another host;
	// default 4; negative = never.
	CrossHost int
	// Disallow is the path prefix robots.txt disallows; every page links
	// into it once. Default "/private/".
	Disallow string
	// CrawlDelay, when non-zero, is announced in robots.txt.
	CrawlDelay time.Duration
	// FirstIP is the address of host 0; host i is FirstIP+i. Default 127.0.1.1.
	FirstIP string
	// ChangeEvery, when non-zero, makes the site live: every fourth
	// page gets a new revision each ChangeEvery, and every page carries an
	// ETag and a Last-Modified for its revision and answers 304 Not
	// Modified to an If-None-Match naming it. Default 0: pages never
	// change and carry no validators.
	ChangeEvery time.Duration
	// FlakyEvery, when non-zero, makes every FlakyEvery-th page request
	// of a host answer 503 with Retry-After: 1. Default 0: never.
	FlakyEvery int
}

func (o *Options) setDefaults() {
	if o.Hosts <= 0 {
		o.Hosts = 3
	}
	if o.Pages <= 0 {
		o.Pages = 20
	}
	if o.Links <= 0 {
		o.Links = 5
	}
	if o.PageBytes <= 0 {
		o.PageBytes = 2048
	}
	if o.CrossHost == 0 {
		o.CrossHost = 4
	}
	if o.Disallow == "" {
		o.Disallow = "/private/"
	}
	if o.FirstIP == "" {
		o.FirstIP = "127.0.1.1"
	}
}

// Site is a running generated site.
type Site struct {
	opts    Options
	hosts   []*host
	filler  string
	started time.Time
}

type host struct {
	site   *Site
	index  int
	addr   string // ip:port
	srv    *http.Server
	ln     net.Listener
	mu     sync.Mutex
	starts []time.Time
	uris   []string // request URI of each start, in the same order
	paths  map[string]int
	cur    int // in flight now
	peak   int
	bad    []string // disallowed paths requested
	pages  int      // page requests, for FlakyEvery
	n304   int      // 304 Not Modified answers
	n503   int      // 503 answers (FlakyEvery)
	conns  int      // connections accepted
}

// Start listens on one loopback address per host and serves the site.
func Start(opts Options) (*Site, error) {
	opts.setDefaults()
	first := net.ParseIP(opts.FirstIP).To4()
	if first == nil || first[0] != 127 {
		return nil, fmt.Errorf("testsite: FirstIP %q is not a loopback IPv4 address", opts.FirstIP)
	}
	s := &Site{opts: opts, started: time.Now(), filler: strings.Repeat("lorem ipsum dolor sit amet ", opts.PageBytes/27+1)}
	base := uint32(first[1])<<16 | uint32(first[2])<<8 | uint32(first[3])
	for i := range opts.Hosts {
		n := base + uint32(i)
		ip := fmt.Sprintf("127.%d.%d.%d", byte(n>>16), byte(n>>8), byte(n))
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("testsite: listen on %s: %w", ip, err)
		}
		h := &host{site: s, index: i, addr: ln.Addr().String(), ln: ln, paths: make(map[string]int)}
		h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ConnState: h.connState}
		s.hosts = append(s.hosts, h)
		go func() { _ = h.srv.Serve(ln) }()
	}
	return s, nil
}

// connState counts the connections h accepts.
func (h *host) connState(_ net.Conn, state http.ConnState) {
	if state == http.StateNew {
		h.mu.Lock()
		h.conns++
		h.mu.Unlock()
	}
}

// Close stops every host.
func (s *Site) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, h := range s.hosts {
		if err := h.srv.Shutdown(ctx); err != nil {
			_ = h.srv.Close()
		}
	}
}

// Hosts returns every host as ip:port.
func (s *Site) Hosts() []string {
	out := make([]string, len(s.hosts))
	for i, h := range s.hosts {
		out[i] = h.addr
	}
	return out
}

// Seeds returns the root URL of every host.
func (s *Site) Seeds() []string {
	out := make([]string, len(s.hosts))
	for i, h := range s.hosts {
		out[i] = "http://" + h.addr + "/"
	}
	return out
}

// PageURLs returns every allowed page of the site ("/" and each page), in
// canonical form: what a complete crawl must store.
func (s *Site) PageURLs() []string {
	var out []string
	for _, h := range s.hosts {
		out = append(out, "http://"+h.addr+"/")
		for p := range s.opts.Pages {
			out = append(out, fmt.Sprintf("http://%s/p/%d", h.addr, p))
		}
	}
	return out
}

// ServeHTTP serves robots.txt, "/", the pages and the disallowed area.
func (h *host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h.mu.Lock()
	h.starts = append(h.starts, start)
	h.uris = append(h.uris, r.URL.RequestURI())
	h.paths[r.URL.RequestURI()]++
	h.cur++
	h.peak = max(h.peak, h.cur)
	if strings.HasPrefix(r.URL.Path, h.site.opts.Disallow) {
		h.bad = append(h.bad, r.URL.RequestURI())
	}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.cur--
		h.mu.Unlock()
	}()
	if d := h.site.opts.Latency; d > 0 {
		time.Sleep(d)
	}
	o := h.site.opts
	switch {
	case r.URL.Path == "/robots.txt":
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "User-agent: *\nDisallow: %s\n", o.Disallow)
		if o.CrawlDelay > 0 {
			fmt.Fprintf(w, "Crawl-delay: %g\n", o.CrawlDelay.Seconds())
		}
	case r.URL.Path == "/":
		h.serve(w, r, -1)
	case strings.HasPrefix(r.URL.Path, "/p/"):
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
		if err != nil || n < 0 || n >= o.Pages {
			http.NotFound(w, r)
			return
		}
		h.serve(w, r, n)
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><head><title>%s</title></head><body>secret</body></html>", r.URL.Path)
	}
}

// serve answers a request for page n (-1 for "/"): now and then a 503
// (FlakyEvery), a 304 when the site is live (ChangeEvery) and the
// request names the page's current ETag, else the page.
func (h *host) serve(w http.ResponseWriter, r *http.Request, n int) {
	o := h.site.opts
	h.mu.Lock()
	h.pages++
	flaky := o.FlakyEvery > 0 && h.pages%o.FlakyEvery == 0
	if flaky {
		h.n503++
	}
	h.mu.Unlock()
	if flaky {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	rev := h.site.revision(n)
	if o.ChangeEvery > 0 {
		etag := fmt.Sprintf("\"h%d-p%d-r%d\"", h.index, n, rev)
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", h.site.started.Add(time.Duration(rev)*o.ChangeEvery).UTC().Format(http.TimeFormat))
		if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
			h.mu.Lock()
			h.n304++
			h.mu.Unlock()
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.page(w, n, rev)
}

// revision is page n's revision now: 0 on a site that is not live and for
// the pages that never change, else how many ChangeEvery have passed.
func (s *Site) revision(n int) int {
	if s.opts.ChangeEvery <= 0 || n < 0 || n%4 != 0 {
		return 0
	}
	return int(time.Since(s.started) / s.opts.ChangeEvery)
}

// page writes page n (-1 for "/") at revision rev: a chain link to n+1 so
// every page is reachable, links in several equivalent forms, cross-host
// links and one link into the disallowed area.
func (h *host) page(w http.ResponseWriter, n, rev int) {
	o := h.site.opts
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html><html><head><title>host %d page %d</title></head><body>\n", h.index, n)
	if rev > 0 {
		fmt.Fprintf(&b, "<p>revision %d</p>\n", rev)
	}
	if n+1 < o.Pages {
		fmt.Fprintf(&b, "<a href=\"/p/%d\">next</a>\n", n+1)
	}
	for k := range o.Links {
		target := (n*7 + k*13 + 1) % o.Pages
		if target < 0 {
			target += o.Pages
		}
		switch {
		case o.CrossHost > 0 && k%o.CrossHost == o.CrossHost-1 && len(h.site.hosts) > 1:
			other := h.site.hosts[(h.index+k+1)%len(h.site.hosts)]
			fmt.Fprintf(&b, "<a href=\"http://%s/p/%d\">x</a>\n", other.addr, target)
		case k%3 == 0 && n < 0:
			fmt.Fprintf(&b, "<a href=\"p/%d#section-%d\">frag</a>\n", target, k) // relative to "/"
		case k%3 == 0:
			fmt.Fprintf(&b, "<a href=\"%d#section-%d\">frag</a>\n", target, k) // relative to "/p/n"
		case k%3 == 1:
			fmt.Fprintf(&b, "<a href=\"http://%s/p/%d\">abs</a>\n", h.addr, target)
		default:
			fmt.Fprintf(&b, "<a href=\"/p/../p/%d\">dots</a>\n", target)
		}
	}
	fmt.Fprintf(&b, "<a href=\"%s%d\">private</a>\n<p>", o.Disallow, n)
	if pad := o.PageBytes - b.Len() - 20; pad > 0 {
		b.WriteString(h.site.filler[:min(pad, len(h.site.filler))])
	}
	b.WriteString("</p></body></html>\n")
	_, _ = w.Write([]byte(b.String()))
}

// Report is how the site was crawled.
type Report struct {
	Requests         int            // all requests, robots.txt included
	PerHost          map[string]int // requests per host (ip:port)
	Repeats          []string       // "host path" requested more than once
	RobotsViolations []string       // disallowed paths that were requested
	MinGap           time.Duration  // smallest gap between two request starts on one host; -1 if no host had two
	MinGapAt         time.Duration  // when the second request of that pair started, since the site started
	MinGapPair       string         // that pair: "host uri -> uri"
	PeakInFlight     int            // most concurrent requests on any one host
	Pages            int            // distinct allowed pages ("/" and each page) requested at least once
	RobotsRequests   int            // requests for /robots.txt, over all hosts
	NotModified      int            // 304 answers (Options.ChangeEvery)
	Unavailable      int            // 503 answers (Options.FlakyEvery)
	Conns            int            // connections accepted, over all hosts
	First, Last      time.Time      // the earliest and the latest request start; zero if none
}

// isPage reports whether a request URI is "/" or one of the pages.
func (s *Site) isPage(uri string) bool {
	if uri == "/" {
		return true
	}
	n, err := strconv.Atoi(strings.TrimPrefix(uri, "/p/"))
	return err == nil && strings.HasPrefix(uri, "/p/") && n >= 0 && n < s.opts.Pages
}

// Report summarizes the requests seen so far.
func (s *Site) Report() Report {
	r := Report{PerHost: make(map[string]int), MinGap: -1}
	for _, h := range s.hosts {
		h.mu.Lock()
		r.Requests += len(h.starts)
		r.PerHost[h.addr] = len(h.starts)
		for _, t := range h.starts {
			if r.First.IsZero() || t.Before(r.First) {
				r.First = t
			}
			if t.After(r.Last) {
				r.Last = t
			}
		}
		for p, n := range h.paths {
			if n > 1 {
				r.Repeats = append(r.Repeats, h.addr+" "+p)
			}
			switch {
			case p == "/robots.txt":
				r.RobotsRequests += n
			case s.isPage(p):
				r.Pages++
			}
		}
		for _, p := range h.bad {
			r.RobotsViolations = append(r.RobotsViolations, h.addr+" "+p)
		}
		order := make([]int, len(h.starts))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(i, j int) bool { return h.starts[order[i]].Before(h.starts[order[j]]) })
		for k := 1; k < len(order); k++ {
			a, b := order[k-1], order[k]
			if g := h.starts[b].Sub(h.starts[a]); r.MinGap < 0 || g < r.MinGap {
				r.MinGap = g
				r.MinGapAt = h.starts[b].Sub(s.started)
				r.MinGapPair = h.addr + " " + h.uris[a] + " -> " + h.uris[b]
			}
		}
		r.PeakInFlight = max(r.PeakInFlight, h.peak)
		r.NotModified += h.n304
		r.Unavailable += h.n503
		r.Conns += h.conns
		h.mu.Unlock()
	}
	sort.Strings(r.Repeats)
	return r
}

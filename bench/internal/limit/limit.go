// Package limit holds what the two reference contenders (the colly crawler
// and the raw-fetch ceiling) share: the child/driver result line, a global
// concurrency cap as an http.RoundTripper, the transport they both use and
// the reading of their URL lists.
package limit

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Result is the one JSON line a contender child prints on stdout when it
// ends; the driver reads it after the child exits.
type Result struct {
	Responses int64 `json:"responses"` // responses received, robots.txt excluded
	Errors    int64 `json:"errors"`    // requests that got no response
	TimedOut  bool  `json:"timed_out"` // stopped by its own deadline
}

// Write prints r as one JSON line.
func (r Result) Write(w io.Writer) error {
	return json.NewEncoder(w).Encode(r)
}

// Transport is the HTTP transport both reference contenders use: keep-alive
// connections sized for perHost parallelism on every host, no cap on idle
// connections across hosts, no proxy, no compression negotiation (the site
// sends none).
func Transport(perHost int, timeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          0, // no limit across hosts
		MaxIdleConnsPerHost:   max(perHost, 2),
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true,
	}
}

// Global caps the requests in flight over all hosts: a slot is taken when
// a round trip starts and given back when its response body is closed (or
// the round trip fails). Colly has no global limit of its own, so the
// benchmark gives it this one to match fetch.concurrency.
type Global struct {
	Base http.RoundTripper
	sem  chan struct{}
}

// NewGlobal returns a RoundTripper allowing n requests in flight on base.
func NewGlobal(base http.RoundTripper, n int) *Global {
	return &Global{Base: base, sem: make(chan struct{}, max(n, 1))}
}

// RoundTrip waits for a slot, then sends req on the base transport.
func (g *Global) RoundTrip(req *http.Request) (*http.Response, error) {
	select {
	case g.sem <- struct{}{}:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	resp, err := g.Base.RoundTrip(req)
	if err != nil {
		<-g.sem
		return nil, err
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: func() { <-g.sem }}
	return resp, nil
}

// releaseBody gives the slot back exactly once, on Close.
type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// ReadLines returns the non-empty lines of the file at path: the seeds or
// page URLs the driver hands a contender.
func ReadLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

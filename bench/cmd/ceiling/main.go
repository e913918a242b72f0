// Command ceiling is the raw-fetch ceiling of the benchmark: a plain
// concurrent GET loop over a known list of URLs (no robots.txt, no parse,
// no store), under the same limits as the crawlers: at most -concurrency
// requests in flight overall, -per-host per host, and request starts on
// one host at least -delay apart. It prints a limit.Result JSON line.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"crawler/bench/internal/limit"
)

func main() {
	urlsFile := flag.String("urls", "", "file with one URL per line (required)")
	concurrency := flag.Int("concurrency", 64, "requests in flight over all hosts")
	perHost := flag.Int("per-host", 2, "requests in flight per host")
	delay := flag.Duration("delay", 0, "least time between two request starts on one host")
	deadline := flag.Duration("deadline", 10*time.Minute, "stop after this long")
	reqTimeout := flag.Duration("request-timeout", 30*time.Second, "whole-request timeout")
	flag.Parse()
	if err := run(*urlsFile, *concurrency, *perHost, *delay, *deadline, *reqTimeout); err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
}

// host is one host's share of the list and its politeness clock.
type host struct {
	urls []string
	mu   sync.Mutex
	next time.Time
}

// wait blocks until a request may start on h, and books that start.
// Because the server may see the request later than it was booked (the
// global slot, a busy CPU), done pushes the next start to delay after the
// response arrived too, as our crawler does; otherwise the site could see
// two starts less than delay apart.
func (h *host) wait(ctx context.Context, delay time.Duration) error {
	if delay <= 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if d := time.Until(h.next); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	h.next = time.Now().Add(delay)
	return nil
}

// done records that a response arrived on h.
func (h *host) done(delay time.Duration) {
	if delay <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := time.Now().Add(delay); n.After(h.next) {
		h.next = n
	}
}

func run(urlsFile string, concurrency, perHost int, delay, deadline, reqTimeout time.Duration) error {
	hosts, err := readURLs(urlsFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	client := &http.Client{
		Transport: limit.NewGlobal(limit.Transport(perHost, reqTimeout), concurrency),
		Timeout:   reqTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	var res limit.Result
	var responses, errs atomic.Int64
	var wg sync.WaitGroup
	// perHost workers per host, each walking its host's list: goroutines
	// are bounded by hosts × perHost, never by the number of URLs.
	for _, h := range hosts {
		var next atomic.Int64
		for range max(perHost, 1) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(h.urls) || h.wait(ctx, delay) != nil {
						return
					}
					ok := get(ctx, client, h.urls[i], func() { h.done(delay) })
					if ok {
						responses.Add(1)
					} else {
						errs.Add(1)
					}
				}
			}()
		}
	}
	wg.Wait()
	res.Responses, res.Errors, res.TimedOut = responses.Load(), errs.Load(), ctx.Err() != nil
	return res.Write(os.Stdout)
}

// get fetches u and reads its body to the end; it calls arrived when the
// response (or the failure) comes and reports whether a response arrived.
func get(ctx context.Context, c *http.Client, u string, arrived func()) bool {
	defer arrived()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "ceiling/1.0")
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return err == nil
}

// readURLs groups the file's URLs by host, keeping their order.
func readURLs(path string) ([]*host, error) {
	lines, err := limit.ReadLines(path)
	if err != nil {
		return nil, err
	}
	byHost := map[string]*host{}
	var out []*host
	for _, line := range lines {
		u, err := url.Parse(line)
		if err != nil {
			return nil, fmt.Errorf("parse %q: %w", line, err)
		}
		h := byHost[u.Host]
		if h == nil {
			h = &host{}
			byHost[u.Host] = h
			out = append(out, h)
		}
		h.urls = append(h.urls, line)
	}
	return out, nil
}

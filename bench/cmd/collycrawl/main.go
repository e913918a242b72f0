// Command collycrawl is the colly v2 contender of the benchmark: an async
// collector that starts from the seeds, obeys robots.txt, follows every
// <a href> within the seeds' hosts, and is limited like our crawler: one
// LimitRule per host (-per-host parallelism, -delay), and at most
// -concurrency requests in flight overall (colly has no global limit, so
// its transport gets one). It parses every page (colly's OnHTML) but
// stores nothing. It prints a limit.Result JSON line.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/gocolly/colly/v2"

	"crawler/bench/internal/limit"
)

func main() {
	seedsFile := flag.String("seeds", "", "file with one seed URL per line (required)")
	concurrency := flag.Int("concurrency", 64, "requests in flight over all hosts")
	perHost := flag.Int("per-host", 2, "requests in flight per host (LimitRule.Parallelism)")
	delay := flag.Duration("delay", 0, "LimitRule.Delay per host")
	deadline := flag.Duration("deadline", 10*time.Minute, "stop after this long")
	reqTimeout := flag.Duration("request-timeout", 30*time.Second, "whole-request timeout")
	flag.Parse()
	if err := run(*seedsFile, *concurrency, *perHost, *delay, *deadline, *reqTimeout); err != nil {
		fmt.Fprintln(os.Stderr, "collycrawl:", err)
		os.Exit(1)
	}
}

func run(seedsFile string, concurrency, perHost int, delay, deadline, reqTimeout time.Duration) error {
	seeds, err := limit.ReadLines(seedsFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()

	var domains []string
	for _, s := range seeds {
		u, err := url.Parse(s)
		if err != nil {
			return fmt.Errorf("seed %q: %w", s, err)
		}
		domains = append(domains, u.Hostname())
	}
	c := colly.NewCollector(
		colly.Async(true),
		colly.UserAgent("collybench/1.0"),
		colly.AllowedDomains(domains...),
		colly.StdlibContext(ctx),
	)
	c.IgnoreRobotsTxt = false
	c.SetRequestTimeout(reqTimeout)
	c.WithTransport(limit.NewGlobal(limit.Transport(perHost, reqTimeout), concurrency))
	for _, s := range seeds {
		u, _ := url.Parse(s)
		// Colly matches a rule against URL.Host (host:port).
		if err := c.Limit(&colly.LimitRule{DomainGlob: u.Host, Parallelism: perHost, Delay: delay}); err != nil {
			return fmt.Errorf("limit %s: %w", u.Host, err)
		}
	}

	var responses, errs atomic.Int64
	c.OnResponse(func(*colly.Response) { responses.Add(1) })
	c.OnError(func(*colly.Response, error) { errs.Add(1) })
	c.OnHTML("a[href]", func(e *colly.HTMLElement) {
		if ctx.Err() != nil {
			return
		}
		link := e.Request.AbsoluteURL(e.Attr("href"))
		if link == "" {
			return
		}
		// Colly's visited-set keys on the URL with its fragment; drop it
		// as any sensible colly user would, so colly fetches each page once.
		if u, err := url.Parse(link); err == nil && u.Fragment != "" {
			u.Fragment = ""
			link = u.String()
		}
		_ = e.Request.Visit(link) // already visited, robots, domain: all expected
	})

	for _, s := range seeds {
		_ = c.Visit(s)
	}
	done := make(chan struct{})
	go func() {
		c.Wait()
		close(done)
	}()
	timedOut := false
	select {
	case <-done:
	case <-ctx.Done():
		// Requests already queued in colly fail fast on the cancelled
		// context; give them a moment, then report what was reached.
		timedOut = true
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	}
	return limit.Result{Responses: responses.Load(), Errors: errs.Load(), TimedOut: timedOut}.Write(os.Stdout)
}

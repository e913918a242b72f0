package main

import (
	"fmt"
	"time"

	"crawler/internal/testsite"
)

// Contender names.
const (
	ours    = "ours"
	colly   = "colly"
	ceiling = "ceiling"
)

// scenario is one crawl benchmark: a site, the limits every contender
// runs under, and the targets judged from the medians.
type scenario struct {
	name  string
	about string
	site  testsite.Options
	limit limits
	// extra scenarios run only when named, not with "all".
	extra bool
	// judge turns the medians into target lines.
	judge func(s *scenario, m map[string]*summary) []target
}

// limits are the politeness and concurrency settings every contender gets.
type limits struct {
	concurrency int           // requests in flight over all hosts
	perHost     int           // requests in flight per host
	delay       time.Duration // least time between request starts on one host
}

// target is one judged line of the final table.
type target struct {
	scenario string
	what     string
	got      string
	want     string
	ok       bool
	known    bool // false when a contender needed for it did not run
}

// crawlScenarios returns the crawl scenarios with pages per host
// multiplied by scale (at least 2).
func crawlScenarios(scale float64) []*scenario {
	pages := func(n int) int { return max(int(float64(n)*scale+0.5), 2) }
	return []*scenario{
		{
			name:  "throughput",
			about: "20 hosts x 1,000 pages of 8 KB, no latency, per-host 8, global 64, robots on, every page stored",
			site:  testsite.Options{Hosts: 20, Pages: pages(1000), Links: 10, PageBytes: 8 << 10, FirstIP: "127.0.1.1"},
			limit: limits{concurrency: 64, perHost: 8},
			judge: judgeThroughput,
		},
		{
			name:  "politeness",
			about: "100 hosts x 50 pages, 20 ms latency, per_host_delay 200ms, per-host 1",
			site: testsite.Options{Hosts: 100, Pages: pages(50), Links: 5, PageBytes: 4 << 10,
				Latency: 20 * time.Millisecond, FirstIP: "127.0.1.1"},
			limit: limits{concurrency: 64, perHost: 1, delay: 200 * time.Millisecond},
			judge: judgePoliteness,
		},
		{
			name:  "manyhosts",
			about: "200 hosts x 1,000 pages of 3 KB, per-host 2, global 128",
			site:  testsite.Options{Hosts: 200, Pages: pages(1000), Links: 8, PageBytes: 3 << 10, FirstIP: "127.0.1.1"},
			limit: limits{concurrency: 128, perHost: 2},
			judge: judgeManyHosts,
		},
		{
			name:  "widehosts",
			about: "2,000 hosts x 20 pages of 3 KB, half the links cross-host, per-host 2, global 128: commits whose links reach hundreds of hosts, which the frontier stages (no issue-7 target)",
			site:  testsite.Options{Hosts: 2000, Pages: pages(20), Links: 8, CrossHost: 2, PageBytes: 3 << 10, FirstIP: "127.0.16.1"},
			limit: limits{concurrency: 128, perHost: 2},
			extra: true,
			judge: func(s *scenario, m map[string]*summary) []target { return []target{completeTarget(s.name, m)} },
		},
		{
			name:  "bigpages",
			about: "20 hosts x 10 pages of 8 MB, per-host 4, global 64: the heap under memory_limit when bodies fill fetch.body_memory (no issue-7 target)",
			site:  testsite.Options{Hosts: 20, Pages: pages(10), Links: 8, PageBytes: 8 << 20, FirstIP: "127.0.1.1"},
			limit: limits{concurrency: 64, perHost: 4},
			extra: true,
			judge: func(s *scenario, m map[string]*summary) []target { return []target{completeTarget(s.name, m)} },
		},
	}
}

func ratioTarget(sc, what string, m map[string]*summary, a, b string, want float64) target {
	t := target{scenario: sc, what: what, want: fmt.Sprintf(">= %.2fx", want)}
	sa, sb := m[a], m[b]
	if sa == nil || sb == nil || sb.pagesPerSec == 0 {
		t.got = "n/a"
		return t
	}
	r := sa.pagesPerSec / sb.pagesPerSec
	t.got, t.ok, t.known = fmt.Sprintf("%.2fx", r), r >= want, true
	return t
}

// completeTarget checks that our crawl stored every page in every round.
func completeTarget(sc string, m map[string]*summary) target {
	t := target{scenario: sc, what: "ours: every page stored, no repeats, robots obeyed", want: "all rounds"}
	s := m[ours]
	if s == nil {
		t.got = "n/a"
		return t
	}
	t.known = true
	t.ok = s.minStored >= s.expected && s.maxRepeats == 0 && s.maxViolations == 0 && s.timeouts == 0 && s.failures == 0
	t.got = fmt.Sprintf("stored >= %d/%d, repeats %d, violations %d, timeouts %d, failed runs %d",
		s.minStored, s.expected, s.maxRepeats, s.maxViolations, s.timeouts, s.failures)
	return t
}

func judgeThroughput(s *scenario, m map[string]*summary) []target {
	return []target{
		ratioTarget(s.name, "ours/colly pages/s", m, ours, colly, 2.5),
		ratioTarget(s.name, "ours/ceiling pages/s", m, ours, ceiling, 0.4),
		completeTarget(s.name, m),
	}
}

func judgePoliteness(s *scenario, m map[string]*summary) []target {
	// Every host serves robots.txt, "/" and its pages one after another,
	// each start at least delay after the previous one: pages+1 gaps.
	ideal := time.Duration(s.site.Pages+1) * s.limit.delay
	wall := target{scenario: s.name, what: "ours wall / ideal ((pages+1) x delay = " + ideal.String() + ")", want: "<= 1.25x"}
	gap := target{scenario: s.name, what: "ours smallest gap on one host (robots.txt included)", want: ">= " + s.limit.delay.String()}
	if o := m[ours]; o != nil {
		r := float64(o.wall) / float64(ideal)
		wall.got, wall.ok, wall.known = fmt.Sprintf("%.2fx (%s)", r, o.wall.Round(time.Millisecond)), r <= 1.25, true
		gap.got, gap.ok, gap.known = o.minGap.Round(time.Millisecond).String(), o.minGap >= s.limit.delay, true
	} else {
		wall.got, gap.got = "n/a", "n/a"
	}
	return []target{wall, gap, completeTarget(s.name, m)}
}

func judgeManyHosts(s *scenario, m map[string]*summary) []target {
	rss := target{scenario: s.name, what: "ours peak RSS", want: "<= 150 MB"}
	if o := m[ours]; o != nil && o.failures < o.rounds {
		rss.got = fmt.Sprintf("%.1f MB (sampled peaks: anon %.0f MB, bbolt/file %.0f MB)", o.peakRSSMB, o.peakAnonMB, o.peakFileMB)
		// A failed run's RSS says nothing: it counts only when a round finished.
		rss.ok, rss.known = o.peakRSSMB <= 150 && o.failures == 0, true
	} else {
		rss.got = "n/a"
	}
	return []target{
		rss,
		ratioTarget(s.name, "ours/colly pages/s", m, ours, colly, 2),
		completeTarget(s.name, m),
	}
}

package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// summary is one contender's rounds of one scenario, reduced: medians of
// pages/s and wall time, the worst of everything else.
type summary struct {
	contender     string
	rounds        int
	pagesPerSec   float64       // median
	wall          time.Duration // median
	cpuPerKPage   time.Duration // median CPU time (user+sys) per 1,000 pages
	peakRSSMB     float64       // max over rounds
	peakAnonMB    float64       // max sampled RssAnon over rounds
	peakFileMB    float64       // max sampled RssFile over rounds
	pages         int           // median pages fetched
	expected      int
	minStored     int     // ours: least page records stored in a round; -1 others
	dbMB          float64 // ours: largest crawl.db over rounds
	robots        int     // max robots.txt requests in a round
	maxRepeats    int
	maxViolations int
	minGap        time.Duration // smallest over rounds; -1 when none
	peakPerHost   int
	timeouts      int
	failures      int
	errs          []string
}

func summarize(contender string, runs []*runResult) *summary {
	s := &summary{contender: contender, rounds: len(runs), minStored: -1, minGap: -1}
	var pps []float64
	var walls []time.Duration
	var pages []int
	var cpk []time.Duration
	for i, r := range runs {
		if r.report.Pages > 0 {
			cpk = append(cpk, r.cpu*1000/time.Duration(r.report.Pages))
		}
		pps = append(pps, r.pagesPerSec())
		walls = append(walls, r.wall)
		pages = append(pages, r.report.Pages)
		s.expected = r.expected
		s.peakRSSMB = max(s.peakRSSMB, float64(r.rssKiB)/1024)
		s.peakAnonMB = max(s.peakAnonMB, float64(r.anonKiB)/1024)
		s.peakFileMB = max(s.peakFileMB, float64(r.fileKiB)/1024)
		s.dbMB = max(s.dbMB, float64(r.dbBytes)/(1<<20))
		if r.stored >= 0 && (i == 0 || r.stored < s.minStored) {
			s.minStored = r.stored
		}
		s.robots = max(s.robots, r.report.RobotsRequests)
		s.maxRepeats = max(s.maxRepeats, len(r.report.Repeats))
		s.maxViolations = max(s.maxViolations, len(r.report.RobotsViolations))
		if g := r.report.MinGap; g >= 0 && (s.minGap < 0 || g < s.minGap) {
			s.minGap = g
		}
		s.peakPerHost = max(s.peakPerHost, r.report.PeakInFlight)
		if r.timedOut {
			s.timeouts++
		}
		if r.err != nil {
			s.failures++
			s.errs = append(s.errs, r.err.Error())
		}
	}
	s.pagesPerSec = median(pps)
	s.wall = median(walls)
	s.cpuPerKPage = median(cpk)
	s.pages = median(pages)
	return s
}

func median[T int | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	ys := slices.Clone(xs)
	slices.Sort(ys)
	n := len(ys)
	if n%2 == 1 {
		return ys[n/2]
	}
	return (ys[n/2-1] + ys[n/2]) / 2
}

// printRuns writes the per-contender medians of the crawl scenarios.
func printRuns(w io.Writer, sums []*scenarioSummary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tcontender\trounds\tmedian pages/s\tmedian wall\tCPU s/1k pages\tpeak RSS MB\tanon/file MB\tpages (median/expected)\trobots.txt GETs\trepeats\trobots violations\tmin gap/host\tpeak in-flight/host\tnotes")
	for _, ss := range sums {
		for _, c := range ss.order {
			s := ss.by[c]
			if s == nil {
				continue
			}
			var notes []string
			if s.minStored >= 0 {
				notes = append(notes, fmt.Sprintf("stored >= %d, crawl.db %.0f MB", s.minStored, s.dbMB))
			}
			if s.timeouts > 0 {
				notes = append(notes, fmt.Sprintf("%d timed out", s.timeouts))
			}
			if s.failures > 0 {
				notes = append(notes, fmt.Sprintf("%d failed: %s", s.failures, s.errs[0]))
			}
			gap := "-"
			if s.minGap >= 0 {
				gap = s.minGap.Round(time.Millisecond).String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%s\t%.2f\t%.1f\t%.0f/%.0f\t%d/%d\t%d\t%d\t%d\t%s\t%d\t%s\n",
				ss.sc.name, c, s.rounds, s.pagesPerSec, s.wall.Round(10*time.Millisecond), s.cpuPerKPage.Seconds(), s.peakRSSMB, s.peakAnonMB, s.peakFileMB,
				s.pages, s.expected, s.robots, s.maxRepeats, s.maxViolations, gap, s.peakPerHost, strings.Join(notes, "; "))
		}
	}
	_ = tw.Flush()
}

// printTargets writes every target line with PASS, MISS or n/a.
func printTargets(w io.Writer, ts []target) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\ttarget\tmeasured\twanted\tresult")
	for _, t := range ts {
		res := "MISS"
		switch {
		case !t.known:
			res = "n/a"
		case t.want == infoOnly:
			res = "-"
		case t.ok:
			res = "PASS"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.scenario, t.what, t.got, t.want, res)
	}
	_ = tw.Flush()
}

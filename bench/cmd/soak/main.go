// Command soak runs the crawler daemon for a long time against a live
// generated site and watches what an operator would: RSS (anonymous and
// mapped), goroutines, open files, the store's files, fetches.
//
// The site changes (every fourth page gets a new revision each
// -change), answers conditional GETs with 304, and now and then a 503.
// The daemon recrawls adaptively, gets a SIGHUP (a config that changes
// per_host_delay) every -hup, a kill -9 and a restart halfway, a SIGTERM
// at the end, and then `crawler check`. Each sample is a line; the
// summary compares the last third of the run with the middle third, so
// that a leak (memory, goroutines, files that grow with the work done
// rather than with the settings) shows as growth.
//
//	cd bench && go run ./cmd/soak -duration 20m
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"crawler/internal/procstatus"
	"crawler/internal/testsite"
)

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 20*time.Minute, "how long the daemon runs in all")
	flag.DurationVar(&o.every, "sample", 15*time.Second, "time between samples")
	flag.DurationVar(&o.hup, "hup", 3*time.Minute, "time between SIGHUPs (reloads); 0 = none")
	flag.BoolVar(&o.crash, "crash", true, "kill -9 the daemon halfway and start it again")
	flag.IntVar(&o.hosts, "hosts", 40, "hosts of the site (127.0.20.1 onwards)")
	flag.IntVar(&o.pages, "pages", 250, "pages per host")
	flag.DurationVar(&o.change, "change", 20*time.Second, "how often the changing pages change")
	flag.StringVar(&o.repo, "repo", "../", "the crawler module's directory")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type options struct {
	duration, every, hup, change time.Duration
	crash                        bool
	hosts, pages                 int
	repo                         string
}

// sample is one look at the daemon.
type sample struct {
	at                       time.Duration // since the first start
	rss, anon, file          int64         // KiB, /proc/<pid>/status
	heap                     float64       // go_memstats_heap_inuse_bytes, MiB
	goroutines, fds, threads float64
	fetches                  float64 // crawler_fetches_total, all outcomes
	db, values               int64   // bytes of crawl.db and its value log
	event                    string
	crashed                  bool // the daemon was killed right after this sample
}

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "crawlsoak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "crawler")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/crawler")
	build.Dir = o.repo
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	site, err := testsite.Start(testsite.Options{
		Hosts: o.hosts, Pages: o.pages, Links: 8, PageBytes: 4096, FirstIP: "127.0.20.1",
		ChangeEvery: o.change, FlakyEvery: 97,
	})
	if err != nil {
		return err
	}
	defer site.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port for /metrics
	if err != nil {
		return err
	}
	metricsAddr := ln.Addr().String()
	ln.Close()

	cfgPath := filepath.Join(tmp, "crawler.yaml")
	delay := 50 * time.Millisecond
	writeConfig := func() error {
		return os.WriteFile(cfgPath, []byte(config(tmp, metricsAddr, site.Seeds(), delay)), 0o644)
	}
	if err := writeConfig(); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(tmp, "daemon.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	start := func() (*exec.Cmd, error) {
		cmd := exec.Command(bin, "run", "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = logf, logf
		return cmd, cmd.Start()
	}

	fmt.Printf("soak: %s, %d hosts x %d pages on 127.0.20.x, pages change every %s, SIGHUP every %s, kill -9 halfway: %v\n",
		o.duration, o.hosts, o.pages, o.change, o.hup, o.crash)
	fmt.Printf("%8s %8s %8s %8s %8s %6s %6s %6s %9s %8s %8s  %s\n",
		"at", "rss MB", "anon MB", "file MB", "heap MB", "gorout", "fds", "thr", "fetches", "db MB", "log MB", "event")
	cmd, err := start()
	if err != nil {
		return err
	}
	began := time.Now()
	var samples []sample
	var fetchBase float64 // fetches counted by daemons before the running one
	crashed := !o.crash
	nextHUP := o.hup
	tick := time.NewTicker(o.every)
	defer tick.Stop()
	for time.Since(began) < o.duration {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
			return ctx.Err()
		case <-tick.C:
		}
		event := ""
		at := time.Since(began)
		if o.hup > 0 && at >= nextHUP {
			nextHUP += o.hup
			if delay == 50*time.Millisecond {
				delay = 60 * time.Millisecond
			} else {
				delay = 50 * time.Millisecond
			}
			if err := writeConfig(); err != nil {
				return err
			}
			_ = cmd.Process.Signal(syscall.SIGHUP)
			event = "SIGHUP per_host_delay=" + delay.String()
		}
		s, err := look(cmd.Process.Pid, metricsAddr, tmp)
		if err != nil {
			event += " (" + err.Error() + ")"
		}
		s.at, s.fetches, s.event = at, s.fetches+fetchBase, strings.TrimSpace(event)
		samples = append(samples, s)
		print(s)
		if !crashed && at >= o.duration/2 {
			crashed = true
			samples[len(samples)-1].crashed = true
			fetchBase = s.fetches
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if cmd, err = start(); err != nil {
				return err
			}
			fmt.Printf("%8s kill -9, started again\n", at.Round(time.Second))
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	termErr := cmd.Wait()
	check := exec.Command(bin, "check", "--config", cfgPath)
	checkOut, checkErr := check.CombinedOutput()
	summarize(samples, site.Report(), termErr, checkErr, string(checkOut), filepath.Join(tmp, "daemon.log"))
	return nil
}

// config is the daemon's crawler.yaml: the site's seeds, recrawl on and
// adaptive, metrics on a loopback port.
func config(dir, metrics string, seeds []string, delay time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\nseeds:\n", filepath.Join(dir, "data"))
	for _, s := range seeds {
		fmt.Fprintf(&b, "  - %q\n", s)
	}
	fmt.Fprintf(&b, `fetch:
  concurrency: 32
  per_host_concurrency: 2
  per_host_delay: %s
  allow_private_addresses: true
  timeout: 10s
  retry_base_delay: 500ms
  retry_max_delay: 5s
api:
  socket: %q
  listen: %q
store:
  min_free_bytes: 0
recrawl:
  interval: 1m
  adaptive: true
  min_interval: 20s
  max_interval: 4m
log:
  level: info
shutdown_timeout: 10s
`, delay, filepath.Join(dir, "c.sock"), metrics)
	return b.String()
}

// look samples the daemon: /proc for memory and threads, /metrics for
// the rest, the data directory for the files.
func look(pid int, metrics, dir string) (sample, error) {
	var s sample
	if st, err := procstatus.Read(pid); err == nil {
		s.rss, s.anon, s.file = st["VmRSS"], st["RssAnon"], st["RssFile"]
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if f := strings.Fields(string(b)); len(f) > 19 {
			s.threads, _ = strconv.ParseFloat(f[19], 64)
		}
	}
	data := filepath.Join(dir, "data")
	if fi, err := os.Stat(filepath.Join(data, "crawl.db")); err == nil {
		s.db = fi.Size()
	}
	logs, _ := filepath.Glob(filepath.Join(data, "crawl.db.values.*"))
	for _, l := range logs {
		if fi, err := os.Stat(l); err == nil {
			s.values += fi.Size()
		}
	}
	m, err := scrape(metrics)
	if err != nil {
		return s, err
	}
	s.heap = m["go_memstats_heap_inuse_bytes"] / (1 << 20)
	s.goroutines, s.fds, s.fetches = m["go_goroutines"], m["process_open_fds"], m["crawler_fetches_total"]
	return s, nil
}

// scrape reads /metrics, summing each counter and gauge over its labels.
func scrape(addr string) (map[string]float64, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, errors.New("metrics unreachable")
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			out[name] += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return out, nil
}

func print(s sample) {
	fmt.Printf("%8s %8.1f %8.1f %8.1f %8.1f %6.0f %6.0f %6.0f %9.0f %8.1f %8.1f  %s\n",
		s.at.Round(time.Second), float64(s.rss)/1024, float64(s.anon)/1024, float64(s.file)/1024, s.heap,
		s.goroutines, s.fds, s.threads, s.fetches, float64(s.db)/(1<<20), float64(s.values)/(1<<20), s.event)
}

// summarize prints, for each life of the daemon (before and after the
// kill -9), the peak of each gauge in its middle third and in its last
// third: a gauge that keeps growing with the work done shows there. Then
// what the site saw, how the daemon ended and what check said.
func summarize(samples []sample, rep testsite.Report, termErr, checkErr error, checkOut, logPath string) {
	// The kill -9 follows the sample marked crashed; the next one is of
	// a fresh process.
	lives := [][]sample{samples}
	for i, s := range samples {
		if s.crashed && i+1 < len(samples) {
			lives = [][]sample{samples[:i+1], samples[i+1:]}
		}
	}
	fmt.Println("\nsummary: peak in the middle third of each life -> peak in its last third")
	gauges := []struct {
		name string
		v    func(sample) float64
	}{
		{"anon RSS MB", func(s sample) float64 { return float64(s.anon) / 1024 }},
		{"heap in use MB", func(s sample) float64 { return s.heap }},
		{"mapped file MB", func(s sample) float64 { return float64(s.file) / 1024 }},
		{"goroutines", func(s sample) float64 { return s.goroutines }},
		{"open fds", func(s sample) float64 { return s.fds }},
		{"threads", func(s sample) float64 { return s.threads }},
		{"value logs MB", func(s sample) float64 { return float64(s.values) / (1 << 20) }},
	}
	for li, life := range lives {
		n := len(life)
		if n < 3 {
			continue
		}
		mid, late := life[n/3:2*n/3], life[2*n/3:]
		fmt.Printf("  life %d (%s to %s):\n", li+1, life[0].at.Round(time.Second), life[n-1].at.Round(time.Second))
		for _, g := range gauges {
			a, b := peak(mid, g.v), peak(late, g.v)
			growth := 0.0
			if a > 0 {
				growth = 100 * (b - a) / a
			}
			mark := ""
			if growth > 25 {
				mark = "  <- grows"
			}
			fmt.Printf("    %-16s %8.1f -> %8.1f  (%+.0f%%)%s\n", g.name, a, b, growth, mark)
		}
	}
	last := samples[len(samples)-1]
	secs := last.at.Seconds()
	fmt.Printf("  fetches %.0f (%.0f/s); requests the site saw %d, 304s %d, 503s %d, robots.txt %d, robots violations %d\n",
		last.fetches, last.fetches/secs, rep.Requests, rep.NotModified, rep.Unavailable, rep.RobotsRequests, len(rep.RobotsViolations))
	fmt.Printf("  smallest gap between two requests on a host: %s, at %s (%s)\n", rep.MinGap, rep.MinGapAt.Round(time.Second), rep.MinGapPair)
	fmt.Printf("  crawl.db %.1f MB, value log %.1f MB at the end\n", float64(last.db)/(1<<20), float64(last.values)/(1<<20))
	fmt.Printf("  SIGTERM: %s\n", errText(termErr, "exit 0"))
	fmt.Printf("  crawler check: %s\n", strings.TrimSpace(lastLine(checkOut)))
	if checkErr != nil {
		fmt.Printf("  crawler check failed: %v\n", checkErr)
	}
	fmt.Printf("  daemon log: %s\n", logLevels(logPath))
}

func peak(ss []sample, v func(sample) float64) float64 {
	m := 0.0
	for _, s := range ss {
		m = max(m, v(s))
	}
	return m
}

func errText(err error, ok string) string {
	if err == nil {
		return ok
	}
	return err.Error()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// logLevels counts the daemon's log lines by level, and quotes the first
// error.
func logLevels(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	counts := map[string]int{}
	first := ""
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, `msg="value log reclaimed"`) {
			counts["reclaimed"]++
		}
		for _, lv := range []string{"level=ERROR", "level=WARN", "level=INFO"} {
			if strings.Contains(l, lv) {
				counts[lv]++
				if lv == "level=ERROR" && first == "" {
					first = l
				}
			}
		}
	}
	out := fmt.Sprintf("%d errors, %d warnings, %d info lines, %d value log reclaims", counts["level=ERROR"], counts["level=WARN"], counts["level=INFO"], counts["reclaimed"])
	if first != "" {
		out += "; first error: " + first
	}
	return out
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"crawler/bench/internal/limit"
	"crawler/frontier"
	"crawler/internal/procstatus"
	"crawler/internal/testsite"
	"crawler/store"
)

// binaries are the contender executables, built once per session.
type binaries struct {
	crawler, colly, ceiling string
}

// build compiles our crawler in the product module (its own go.mod, so
// exactly what ships) and the two reference contenders in this module.
func build(ctx context.Context, repo, benchDir, out string) (*binaries, error) {
	b := &binaries{
		crawler: filepath.Join(out, "crawler"),
		colly:   filepath.Join(out, "collycrawl"),
		ceiling: filepath.Join(out, "ceiling"),
	}
	for _, j := range []struct{ dir, pkg, out string }{
		{repo, "./cmd/crawler", b.crawler},
		{benchDir, "./cmd/collycrawl", b.colly},
		{benchDir, "./cmd/ceiling", b.ceiling},
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", j.out, j.pkg)
		cmd.Dir = j.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s in %s: %v\n%s", j.pkg, j.dir, err, out)
		}
	}
	return b, nil
}

// runResult is one contender's run against a fresh site.
type runResult struct {
	contender string
	wall      time.Duration
	firstReq  time.Duration // the site's first request since the child started
	lastReq   time.Duration // and its last: wall less this is the child's shutdown
	rssKiB    int64         // peak RSS from rusage
	anonKiB   int64         // peak RssAnon seen by sampling /proc (heap, stacks)
	fileKiB   int64         // peak RssFile seen by sampling /proc (mapped files: bbolt)
	cpu       time.Duration // user + system time of the child
	report    testsite.Report
	expected  int // pages a complete crawl fetches
	stored    int // ours: page records in the store; -1 for the others
	dbBytes   int64
	timedOut  bool
	err       error // the child failed (non-zero exit, bad output)
	child     limit.Result
}

func (r *runResult) pagesPerSec() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.report.Pages) / r.wall.Seconds()
}

// session holds what every run of a benchmark session shares.
type session struct {
	bin     *binaries
	tmp     string
	timeout time.Duration // per run
	verbose bool
	profile string // directory for CPU profiles of ours; "" for none
	seq     int
}

// run starts a fresh site, runs one contender against it as a child
// process and collects the site's report and the child's peak RSS.
func (s *session) run(ctx context.Context, sc *scenario, contender string) *runResult {
	s.seq++
	dir := filepath.Join(s.tmp, fmt.Sprintf("run%03d-%s-%s", s.seq, sc.name, contender))
	res := &runResult{contender: contender, stored: -1}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		res.err = err
		return res
	}
	defer os.RemoveAll(dir)
	site, err := testsite.Start(sc.site)
	if err != nil {
		res.err = err
		return res
	}
	defer site.Close()
	res.expected = len(site.PageURLs())

	var cmd *exec.Cmd
	runCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// The reference children stop themselves at the deadline and report;
	// the outer context is only a safety net for them.
	deadline := s.timeout - 5*time.Second
	l := sc.limit
	switch contender {
	case ours:
		cfg := filepath.Join(dir, "crawler.yaml")
		if err := os.WriteFile(cfg, []byte(oursConfig(dir, site.Seeds(), l)), 0o644); err != nil {
			res.err = err
			return res
		}
		args := []string{"run", "--config", cfg, "--exit-when-idle"}
		if s.profile != "" {
			args = append(args, "--cpuprofile", filepath.Join(s.profile, fmt.Sprintf("ours-%s-%03d.pprof", sc.name, s.seq)))
		}
		cmd = exec.CommandContext(runCtx, s.bin.crawler, args...)
	case colly, ceiling:
		// The reference children take a list file and the same limits:
		// colly crawls from the seeds, the ceiling gets every page URL.
		bin, listFlag, list := s.bin.colly, "-seeds", site.Seeds()
		if contender == ceiling {
			bin, listFlag, list = s.bin.ceiling, "-urls", site.PageURLs()
		}
		listFile := filepath.Join(dir, strings.TrimPrefix(listFlag, "-")+".txt")
		if err := os.WriteFile(listFile, []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
			res.err = err
			return res
		}
		cmd = exec.CommandContext(runCtx, bin, listFlag, listFile, "-concurrency", fmt.Sprint(l.concurrency),
			"-per-host", fmt.Sprint(l.perHost), "-delay", l.delay.String(), "-deadline", deadline.String())
	default:
		res.err = fmt.Errorf("unknown contender %q", contender)
		return res
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second

	start := time.Now()
	err = cmd.Start()
	if err == nil {
		stopSampling := sampleRSS(cmd.Process.Pid, res)
		err = cmd.Wait()
		stopSampling()
	}
	res.wall = time.Since(start)
	res.report = site.Report()
	if !res.report.First.IsZero() {
		res.firstReq, res.lastReq = res.report.First.Sub(start), res.report.Last.Sub(start)
	}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.rssKiB = ru.Maxrss // KiB on Linux
			res.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if runCtx.Err() != nil && ctx.Err() == nil {
		res.timedOut = true
	}
	if err != nil && !res.timedOut {
		res.err = fmt.Errorf("%s: %v: %s", contender, err, lastLines(stderr.String(), 5))
	}
	switch contender {
	case ours:
		if err := readStore(filepath.Join(dir, "data", "crawl.db"), res); err != nil && res.err == nil {
			res.err = err
		}
	default:
		if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res.child); err != nil && res.err == nil && !res.timedOut {
			res.err = fmt.Errorf("%s: result line %q: %v", contender, stdout.String(), err)
		}
		res.timedOut = res.timedOut || res.child.TimedOut
	}
	if s.verbose {
		fmt.Fprintf(os.Stderr, "  %-10s %-8s wall %-9s cpu %-9s pages %6d/%-6d %8.0f pages/s  rss %6.1f MB (anon %.0f, file %.0f)  robots %d repeats %d violations %d min-gap %s peak/host %d conns %d  requests %s..%s%s\n",
			sc.name, contender, res.wall.Round(time.Millisecond), res.cpu.Round(time.Millisecond), res.report.Pages, res.expected, res.pagesPerSec(),
			float64(res.rssKiB)/1024, float64(res.anonKiB)/1024, float64(res.fileKiB)/1024, res.report.RobotsRequests, len(res.report.Repeats), len(res.report.RobotsViolations),
			res.report.MinGap.Round(time.Millisecond), res.report.PeakInFlight, res.report.Conns,
			res.firstReq.Round(time.Millisecond), res.lastReq.Round(time.Millisecond), errNote(res))
	}
	return res
}

func errNote(r *runResult) string {
	switch {
	case r.err != nil:
		return "  ERROR " + r.err.Error()
	case r.timedOut:
		return "  TIMEOUT"
	}
	return ""
}

// sampleRSS polls the child's /proc status every 100 ms for the split of
// its RSS into anonymous memory and mapped file pages (for ours, the
// bbolt file), which rusage does not give. It returns the function that
// stops it.
func sampleRSS(pid int, res *runResult) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if kib, err := procstatus.Read(pid); err == nil {
				res.anonKiB = max(res.anonKiB, kib["RssAnon"])
				res.fileKiB = max(res.fileKiB, kib["RssFile"])
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// readStore counts what our crawl stored.
func readStore(path string, res *runResult) error {
	db, err := store.Open(path, store.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("ours: open store: %w", err)
	}
	defer db.Close()
	return db.View(func(tx *store.Tx) error {
		c := tx.Counts()
		res.stored, res.dbBytes = int(c.Pages), c.FileBytes+c.ValueBytes
		res.child.Responses = frontier.ReadCounts(tx).Done
		return nil
	})
}

// maxMappedBytes is -max-mapped-bytes: ours' store.max_mapped_bytes.
var maxMappedBytes int64

// memoryLimit is -memory-limit: ours' memory_limit; 0 keeps the default.
var memoryLimit int64

// oursConfig is the crawler.yaml of one run: the scenario's limits, robots
// on, loopback allowed, a short retry backoff, no free-space pause,
// -max-mapped-bytes, -memory-limit and warnings only on stderr.
func oursConfig(dir string, seeds []string, l limits) string {
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\n", filepath.Join(dir, "data"))
	b.WriteString("seeds:\n")
	for _, s := range seeds {
		fmt.Fprintf(&b, "  - %q\n", s)
	}
	fmt.Fprintf(&b, `fetch:
  concurrency: %d
  per_host_concurrency: %d
  per_host_delay: %s
  respect_robots: true
  allow_private_addresses: true
  timeout: 30s
  retry_base_delay: 100ms
  retry_max_delay: 1s
api:
  socket: %q
store:
  min_free_bytes: 0
  max_mapped_bytes: %d
log:
  level: warn
shutdown_timeout: 5s
`, l.concurrency, l.perHost, l.delay, filepath.Join(dir, "c.sock"), maxMappedBytes)
	if memoryLimit > 0 {
		fmt.Fprintf(&b, "memory_limit: %d\n", memoryLimit)
	}
	return b.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

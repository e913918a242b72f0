package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// goBench is a scenario measured by `go test -bench` in the product
// module: the frontier at 1M URLs and the store at 200k pages.
type goBench struct {
	name  string
	about string
	pkg   string
	bench string // -bench pattern
	judge func(m map[string]metrics) []target
}

// infoOnly is the wanted value of a line that is reported, not judged.
const infoOnly = "(info)"

// metrics are one benchmark line's reported values by unit, e.g.
// m["BenchmarkQueued1M"]["rss-MB"].
type metrics map[string]float64

func goBenches() []*goBench {
	return []*goBench{
		{
			name:  "frontier",
			about: "1,000,000 queued URLs over 10,000 hosts (go test -bench ./frontier)",
			pkg:   "./frontier",
			bench: "^(BenchmarkQueued1M|BenchmarkEnqueue|BenchmarkDequeue)$",
			judge: judgeFrontier,
		},
		{
			name:  "store",
			about: "200,000 pages of generated HTML (go test -bench ./store)",
			pkg:   "./store",
			bench: "^BenchmarkStore200k$",
			judge: judgeStore,
		},
	}
}

// run executes the benchmarks once (-benchtime 1x for the big builds is
// set per benchmark below) and parses their metric lines.
func (g *goBench) run(ctx context.Context, repo string, scale float64, timeout time.Duration, verbose bool) (map[string]metrics, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := map[string]metrics{}
	// The big builds run once; the rate benchmarks let -benchtime size them.
	type run struct {
		args   []string
		env    string // one more environment variable, or ""
		suffix string // added to the benchmarks' names
	}
	runs := []run{{args: []string{"-bench", g.bench, "-benchtime", "1x"}}}
	if g.name == "frontier" {
		runs = []run{
			{args: []string{"-bench", "^BenchmarkQueued1M$", "-benchtime", "1x"}},
			// As an operator bounding RSS runs it: store.max_mapped_bytes.
			{args: []string{"-bench", "^BenchmarkQueued1M$", "-benchtime", "1x"},
				env: fmt.Sprintf("BENCH_MAX_MAPPED_BYTES=%d", frontierMappedBudget), suffix: mappedSuffix},
			{args: []string{"-bench", "^(BenchmarkEnqueue|BenchmarkDequeue)$", "-benchtime", fmt.Sprintf("%dx", max(int(200_000*scale), 10_000))}},
		}
	}
	for _, r := range runs {
		// Each in its own process so that peak RSS is its own.
		argv := append([]string{"test", "-run", "^$", "-timeout", timeout.String()}, r.args...)
		argv = append(argv, g.pkg)
		cmd := exec.CommandContext(ctx, "go", argv...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), fmt.Sprintf("BENCH_SCALE=%g", scale))
		if r.env != "" {
			cmd.Env = append(cmd.Env, r.env)
		}
		if verbose {
			fmt.Fprintf(os.Stderr, "  %s: %s go %s (BENCH_SCALE=%g)\n", g.name, r.env, strings.Join(argv, " "), scale)
		}
		b, err := cmd.CombinedOutput()
		if err != nil {
			return out, fmt.Errorf("go %s: %v\n%s", strings.Join(argv, " "), err, lastLines(string(b), 15))
		}
		for name, m := range parseBench(string(b)) {
			out[name+r.suffix] = m
			if verbose {
				fmt.Fprintf(os.Stderr, "  %s %v\n", name, m)
			}
		}
	}
	return out, nil
}

// parseBench reads `go test -bench` output: "BenchmarkX-2  1  123 ns/op
// 4.5 unit ...". The -GOMAXPROCS suffix is dropped from names.
func parseBench(out string) map[string]metrics {
	res := map[string]metrics{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		m := metrics{}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[f[i+1]] = v
			}
		}
		res[name] = m
	}
	return res
}

func metricTarget(sc, what string, m map[string]metrics, bench, unit, want string, ok func(float64) bool, format string) target {
	t := target{scenario: sc, what: what, want: want, got: "n/a"}
	v, found := m[bench][unit]
	if !found {
		return t
	}
	t.got, t.ok, t.known = fmt.Sprintf(format, v), ok(v), true
	return t
}

// frontierMappedBudget is the store.max_mapped_bytes of the frontier
// benchmark's second run, and mappedSuffix names its results.
const (
	frontierMappedBudget = 96 << 20
	mappedSuffix         = "/max_mapped_bytes=96MiB"
)

func judgeFrontier(m map[string]metrics) []target {
	const q = "BenchmarkQueued1M"
	const qm = q + mappedSuffix
	ts := []target{
		metricTarget("frontier", "RSS with all URLs queued (VmRSS)", m, q, "rss-MB", "<= 200 MB",
			func(v float64) bool { return v <= 200 }, "%.0f MB"),
		metricTarget("frontier", "  of which anonymous (heap, stacks) / Go heap in use", m, q, "rss-anon-MB", infoOnly,
			func(float64) bool { return true }, "%.0f MB"),
		metricTarget("frontier", "  of which bbolt file pages (mmap)", m, q, "rss-file-MB", infoOnly,
			func(float64) bool { return true }, "%.0f MB"),
		metricTarget("frontier", "enqueue with dedup, 1M over 10k hosts, batches of 10k links", m, q, "enqueue-urls/s", ">= 100000 URLs/s",
			func(v float64) bool { return v >= 100_000 }, "%.0f URLs/s"),
		metricTarget("frontier", "  the same with the Close that merges what is still staged", m, q, "enqueue-close-urls/s", infoOnly,
			func(float64) bool { return true }, "%.0f URLs/s"),
		metricTarget("frontier", "enqueue, batches of 1k links", m, "BenchmarkEnqueue/batch=1000", "urls/s", ">= 100000 URLs/s",
			func(v float64) bool { return v >= 100_000 }, "%.0f URLs/s"),
	}
	if h, ok := m[q]["heap-MB"]; ok && len(ts) > 1 {
		ts[1].got += fmt.Sprintf(" / %.0f MB", h)
	}
	// No scan over all hosts: dequeue cost per URL must not grow with them.
	few, many := m["BenchmarkDequeue/hosts=100"]["urls/s"], m["BenchmarkDequeue/hosts=10000"]["urls/s"]
	t := target{scenario: "frontier", what: "dequeue rate, 10,000 hosts / 100 hosts (no scan)", want: ">= 0.5x", got: "n/a"}
	if few > 0 && many > 0 {
		r := many / few
		t.got, t.ok, t.known = fmt.Sprintf("%.2fx (%.0f vs %.0f URLs/s)", r, many, few), r >= 0.5, true
	}
	ts = append(ts, t, metricTarget("frontier", "dequeue rate with 1M queued (info)", m, q, "dequeue-urls/s", infoOnly,
		func(float64) bool { return true }, "%.0f URLs/s"))
	// Again with the store's mapped-page budget, as an operator who wants
	// RSS bounded sets it (store.max_mapped_bytes: 96 MiB).
	ts = append(ts,
		metricTarget("frontier", "with max_mapped_bytes 96 MiB: RSS with all URLs queued", m, qm, "rss-MB", "<= 200 MB",
			func(v float64) bool { return v <= 200 }, "%.0f MB"),
		metricTarget("frontier", "  peak RSS of that run (VmHWM)", m, qm, "peak-rss-MB", infoOnly,
			func(float64) bool { return true }, "%.0f MB"),
		metricTarget("frontier", "with max_mapped_bytes 96 MiB: enqueue, batches of 10k links", m, qm, "enqueue-urls/s", ">= 100000 URLs/s",
			func(v float64) bool { return v >= 100_000 }, "%.0f URLs/s"))
	return ts
}

func judgeStore(m map[string]metrics) []target {
	const s = "BenchmarkStore200k"
	ratio := metricTarget("store", "file bytes per page / raw page bytes", m, s, "ratio", "<= 0.50",
		func(v float64) bool { return v <= 0.5 }, "%.2f")
	if v, ok := m[s]["bytes/page"]; ok {
		ratio.got += fmt.Sprintf(" (%.0f B of %.1f KB)", v, m[s]["raw-KB/page"])
	}
	return []target{
		ratio,
		metricTarget("store", "pages get: Tx.Page+Tx.Body p99", m, s, "p99-ms", "< 5 ms",
			func(v float64) bool { return v < 5 }, "%.2f ms"),
		metricTarget("store", "pages get: read-only open", m, s, "open-ms", infoOnly,
			func(float64) bool { return true }, "%.1f ms"),
	}
}

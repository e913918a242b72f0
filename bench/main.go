// Command bench compares our crawler with colly v2 and with a raw-fetch
// ceiling on a generated loopback site, and runs the frontier and store
// benchmarks of the product module. Run it from this directory:
//
//	go run . -scenario throughput -rounds 3
//	go run . -scale 0.1 -rounds 1            # quick smoke of everything
//
// Each crawl scenario starts a fresh site (in this process) for every run
// and runs the contenders one after another, round after round (A B C A B
// C …), each as its own child process, whose peak RSS comes from its
// rusage. It prints the medians, then every target with PASS or MISS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.scenarios, "scenario", "all", "comma-separated: throughput, politeness, manyhosts, frontier, store, or all (all of those); also bigpages, widehosts")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of the crawl scenarios (each runs every contender once)")
	flag.Float64Var(&o.scale, "scale", 1, "multiplies pages per host (and the URLs/pages of frontier and store)")
	flag.StringVar(&o.contenders, "contenders", "ours,colly,ceiling", "comma-separated contenders of the crawl scenarios")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "per crawl run; a contender still running is stopped and its pages so far counted")
	flag.DurationVar(&o.goTimeout, "go-timeout", 15*time.Minute, "per go test -bench scenario")
	flag.StringVar(&o.repo, "repo", "..", "the crawler module's directory")
	flag.BoolVar(&o.verbose, "v", true, "print every run as it ends (on stderr)")
	flag.StringVar(&o.profile, "profile", "", "write a CPU profile of each run of ours to this directory (crawler run --cpuprofile)")
	flag.Int64Var(&memoryLimit, "memory-limit", 0, "ours' memory_limit (its soft heap limit, GOGC=400 below it); 0 = the default, 96 MiB")
	flag.Int64Var(&maxMappedBytes, "max-mapped-bytes", 0, "ours' store.max_mapped_bytes, and the frontier benchmark's store's (BENCH_MAX_MAPPED_BYTES); 0 = never unmap, the default")
	flag.Parse()
	if maxMappedBytes != 0 {
		os.Setenv("BENCH_MAX_MAPPED_BYTES", strconv.FormatInt(maxMappedBytes, 10))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	scenarios  string
	rounds     int
	scale      float64
	contenders string
	timeout    time.Duration
	goTimeout  time.Duration
	repo       string
	verbose    bool
	profile    string
}

// scenarioSummary is one crawl scenario's result.
type scenarioSummary struct {
	sc    *scenario
	order []string
	by    map[string]*summary
}

func run(ctx context.Context, o options) error {
	if o.rounds < 1 || o.scale <= 0 || o.timeout <= 10*time.Second {
		return errors.New("want -rounds >= 1, -scale > 0 and -timeout > 10s")
	}
	repo, err := filepath.Abs(o.repo)
	if err != nil {
		return err
	}
	benchDir, err := os.Getwd()
	if err != nil {
		return err
	}
	if err := checkModule(repo, "crawler"); err != nil {
		return err
	}
	if err := checkModule(benchDir, "crawler/bench"); err != nil {
		return fmt.Errorf("%w (run from the bench directory)", err)
	}
	want := map[string]bool{}
	for _, s := range strings.Split(o.scenarios, ",") {
		want[strings.TrimSpace(s)] = true
	}
	all := want["all"]
	contenders := strings.Split(o.contenders, ",")
	for _, c := range contenders {
		if c != ours && c != colly && c != ceiling {
			return fmt.Errorf("unknown contender %q", c)
		}
	}

	var crawls []*scenario
	for _, sc := range crawlScenarios(o.scale) {
		if (all && !sc.extra) || want[sc.name] {
			crawls = append(crawls, sc)
			delete(want, sc.name)
		}
	}
	var gos []*goBench
	for _, g := range goBenches() {
		if all || want[g.name] {
			gos = append(gos, g)
			delete(want, g.name)
		}
	}
	delete(want, "all")
	for s := range want {
		return fmt.Errorf("unknown scenario %q", s)
	}

	fmt.Printf("machine: %s\n", machine())
	fmt.Printf("command: go run . %s\n", strings.Join(os.Args[1:], " "))
	fmt.Printf("started: %s\n\n", time.Now().UTC().Format(time.RFC3339))
	began := time.Now()

	var sums []*scenarioSummary
	var targets []target
	if len(crawls) > 0 {
		tmp, err := os.MkdirTemp("", "crawlbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		fmt.Fprintln(os.Stderr, "building contenders…")
		bin, err := build(ctx, repo, benchDir, tmp)
		if err != nil {
			return err
		}
		if o.profile != "" {
			if err := os.MkdirAll(o.profile, 0o755); err != nil {
				return err
			}
		}
		s := &session{bin: bin, tmp: tmp, timeout: o.timeout, verbose: o.verbose, profile: o.profile}
		for _, sc := range crawls {
			fmt.Fprintf(os.Stderr, "%s: %s (scale %g): %d hosts x %d pages\n", sc.name, sc.about, o.scale, sc.site.Hosts, sc.site.Pages)
			runs := map[string][]*runResult{}
			for round := range o.rounds {
				for _, c := range contenders {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					if o.verbose {
						fmt.Fprintf(os.Stderr, "  round %d ", round+1)
					}
					runs[c] = append(runs[c], s.run(ctx, sc, c))
				}
			}
			ss := &scenarioSummary{sc: sc, order: contenders, by: map[string]*summary{}}
			for _, c := range contenders {
				ss.by[c] = summarize(c, runs[c])
			}
			sums = append(sums, ss)
			targets = append(targets, sc.judge(sc, ss.by)...)
		}
	}
	for _, g := range gos {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(os.Stderr, "%s: %s (scale %g)\n", g.name, g.about, o.scale)
		m, err := g.run(ctx, repo, o.scale, o.goTimeout, o.verbose)
		if err != nil {
			fmt.Fprintf(os.Stderr, "  %s: %v\n", g.name, err)
		}
		targets = append(targets, g.judge(m)...)
	}

	if len(sums) > 0 {
		fmt.Println("crawl scenarios (medians over rounds; RSS and politeness figures are the worst round):")
		printRuns(os.Stdout, sums)
		fmt.Println()
	}
	fmt.Println("targets:")
	printTargets(os.Stdout, targets)
	fmt.Printf("\ntotal time: %s\n", time.Since(began).Round(time.Second))
	return nil
}

// checkModule verifies that dir holds the go.mod of module path.
func checkModule(dir, path string) error {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return fmt.Errorf("module %s: %w", path, err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	if strings.TrimSpace(first) != "module "+path {
		return fmt.Errorf("%s/go.mod is not module %s", dir, path)
	}
	return nil
}

// machine describes where the benchmark ran.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 && f[0] == "MemTotal:" {
			if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
				mem = fmt.Sprintf(", %.1f GB RAM", kb/(1<<20))
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = ", load avg " + strings.Join(f[:3], " ")
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%s, %d CPUs%s%s, %s%s", cpu, runtime.NumCPU(), mem, kernel, runtime.Version(), load)
}

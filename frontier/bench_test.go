package frontier

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"crawler/internal/benchenv"
	"crawler/internal/procstatus"
	"crawler/store"
)

// Frontier benchmarks (issue 7, target 4). They run on a store opened the
// way `crawler run` opens it (fsync at every commit; BENCH_NOSYNC=1 turns
// that off to separate disk from CPU time). BENCH_SCALE (default
// 1) multiplies the URL count of BenchmarkQueued1M, e.g. BENCH_SCALE=0.1
// for a quick run:
//
//	go test -run '^$' -bench 'Enqueue|Dequeue' ./frontier
//	go test -run '^$' -bench Queued1M -benchtime 1x ./frontier

const (
	benchHosts     = 10_000 // hosts of the 1M case and of the link generator
	benchBatch     = 1_000  // links per Queue.Add: about 10 pages' links
	bulkBatch      = 10_000 // links per Queue.Add when filling a big queue
	benchPageLinks = 100    // links a page yields; a batch is 10 pages' links
	benchDupShare  = 5      // 1 link in benchDupShare repeats an earlier one
)

// benchStore is how the benchmarks open the store: as `crawler run` does,
// unless BENCH_NOSYNC=1 skips fsync (to tell disk time from CPU time);
// BENCH_MAX_MAPPED_BYTES sets the store's MappedBudget.
func benchStore(b *testing.B) store.Options {
	return store.Options{NoSync: benchenv.NoSync(), MappedBudget: benchenv.MaxMappedBytes(b)}
}

// openBench opens a fresh store and frontier, closed at cleanup.
func openBench(b *testing.B, opts Options) (*store.DB, *Queue) {
	b.Helper()
	db, err := store.Open(filepath.Join(b.TempDir(), "crawl.db"), benchStore(b))
	if err != nil {
		b.Fatal(err)
	}
	q, err := Open(db, opts)
	if err != nil {
		db.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := q.Close(); err != nil {
			b.Errorf("close queue: %v", err)
		}
		db.Close()
	})
	return db, q
}

// linkGen yields the links of a crawl: pages of benchPageLinks links, on
// every host in turn, most to the page's own host, some to other hosts, and every
// benchDupShare-th link one already given (the dedup path). URLs look
// like real ones (~70 bytes) and carry their parent page. It remembers
// the links it may repeat as numbers, not strings, so that its own memory
// stays out of the frontier's figures.
type linkGen struct {
	rng   *rand.Rand
	hosts int
	next  []int // next new page number per host
	pages int   // pages generated; page i is on host i mod hosts
	given []givenLink
}

// givenLink is a link already given: page n of host h, found on page pn of host ph.
type givenLink struct{ h, n, ph, pn int32 }

func newLinkGen(hosts int) *linkGen {
	return &linkGen{rng: rand.New(rand.NewPCG(7, 11)), hosts: hosts, next: make([]int, hosts)}
}

func benchHost(h int) string { return fmt.Sprintf("www.site%05d.example.com", h) }

func (g *linkGen) url(h, n int) string {
	return fmt.Sprintf("https://%s/articles/%d/%02d/some-article-slug-%d", benchHost(h), 2000+n%25, n%12+1, n)
}

func (g *linkGen) link(l givenLink) Link {
	return Link{URL: g.url(int(l.h), int(l.n)), Host: benchHost(int(l.h)), Parent: g.url(int(l.ph), int(l.pn)), Depth: 1}
}

// batch returns n links, about n/benchDupShare of them seen before.
func (g *linkGen) batch(n int) []Link {
	out := make([]Link, 0, n)
	for len(out) < n {
		page := g.pages % g.hosts
		g.pages++
		pn := g.rng.IntN(1000)
		for k := 0; k < benchPageLinks && len(out) < n; k++ {
			if k%benchDupShare == benchDupShare-1 && len(g.given) > 0 {
				out = append(out, g.link(g.given[g.rng.IntN(len(g.given))]))
				continue
			}
			h := page
			if k%4 == 3 {
				h = g.rng.IntN(g.hosts)
			}
			l := givenLink{h: int32(h), n: int32(g.next[h]), ph: int32(page), pn: int32(pn)}
			g.next[h]++
			out = append(out, g.link(l))
			if len(g.given) < 100_000 {
				g.given = append(g.given, l)
			} else {
				g.given[g.rng.IntN(len(g.given))] = l
			}
		}
	}
	return out
}

// enqueue adds links in batches through Queue.Add until at least want new
// URLs are queued; it returns how many were new, how many it offered, and
// the time spent in Add (making up the links, the parser's work in a
// crawl, is not counted).
func enqueue(b *testing.B, q *Queue, g *linkGen, want, batch int) (added, offered int, spent time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	for added < want {
		links := g.batch(min(batch, want-added))
		start := time.Now()
		n, err := q.Add(ctx, links)
		spent += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		added += n
		offered += len(links)
	}
	return added, offered, spent
}

// BenchmarkEnqueue adds links in batches of 1,000 and of 10,000 (20%
// already seen) over 10,000 hosts; one op is one new URL. Each Add is one
// committed (fsynced) transaction.
func BenchmarkEnqueue(b *testing.B) {
	for _, batch := range []int{benchBatch, bulkBatch} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			_, q := openBench(b, Options{})
			g := newLinkGen(benchHosts)
			b.ResetTimer()
			added, offered, el := enqueue(b, q, g, b.N, batch)
			b.ReportMetric(float64(added)/el.Seconds(), "urls/s")
			b.ReportMetric(float64(offered)/el.Seconds(), "links/s")
			if c := q.Counts(); c.Queued != int64(added) {
				b.Fatalf("queued %d; want %d", c.Queued, added)
			}
		})
	}
}

// BenchmarkDequeue hands out queued URLs (Next, Release, Commit as done)
// from a frontier of 100 and of 10,000 hosts: the cost per URL must not
// grow with the number of hosts (the ready heap, not a scan).
func BenchmarkDequeue(b *testing.B) {
	for _, hosts := range []int{100, benchHosts} {
		b.Run(fmt.Sprintf("hosts=%d", hosts), func(b *testing.B) {
			_, q := openBench(b, Options{PerHostConcurrency: 1})
			enqueue(b, q, newLinkGen(hosts), b.N, bulkBatch)
			b.ResetTimer()
			start := time.Now()
			dequeue(b, q, b.N)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "urls/s")
		})
	}
}

// dequeue takes n URLs and commits each as done, then waits until the
// writer has committed them all.
func dequeue(b *testing.B, q *Queue, n int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	for range n {
		it, err := q.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		q.Release(it, time.Now())
		if err := q.Commit(ctx, &Completion{Item: it, State: StateDone}); err != nil {
			b.Fatal(err)
		}
	}
	for q.Counts().InFlight > 0 {
		if ctx.Err() != nil {
			b.Fatal("writer did not catch up")
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkQueued1M queues 1,000,000 URLs (times BENCH_SCALE) over 10,000
// hosts through Queue.Add in batches of 10,000 links, then reports the
// enqueue rate (and counting the Close that merges what is still staged:
// enqueue-close-urls/s), the Go heap and
// the process RSS with all of them queued, how long re-opening the
// frontier takes (its start-up pass), and the dequeue rate of the next
// 10,000 URLs. Run it with -benchtime 1x: every op builds it all again.
func BenchmarkQueued1M(b *testing.B) {
	want := int(1_000_000 * benchenv.Scale(b))
	for range b.N {
		path := filepath.Join(b.TempDir(), "crawl.db")
		db, err := store.Open(path, benchStore(b))
		if err != nil {
			b.Fatal(err)
		}
		q, err := Open(db, Options{PerHostConcurrency: 1})
		if err != nil {
			b.Fatal(err)
		}
		added, offered, el := enqueue(b, q, newLinkGen(benchHosts), want, bulkBatch)
		b.ReportMetric(float64(added)/el.Seconds(), "enqueue-urls/s")
		b.ReportMetric(float64(offered)/el.Seconds(), "enqueue-links/s")
		start := time.Now()
		if err := q.Close(); err != nil { // merges what is still staged
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "close-s")
		b.ReportMetric(float64(added)/(el+time.Since(start)).Seconds(), "enqueue-close-urls/s")

		start = time.Now()
		q, err = Open(db, Options{PerHostConcurrency: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "reopen-s")
		c := q.Counts()
		if c.Queued != int64(added) || c.Hosts > benchHosts {
			b.Fatalf("after reopen: %+v; want %d queued over at most %d hosts", c, added, benchHosts)
		}
		b.ReportMetric(float64(c.Hosts), "hosts")
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		mem := procStatus(b)
		b.ReportMetric(mem["VmRSS"], "rss-MB")
		b.ReportMetric(mem["RssAnon"], "rss-anon-MB")
		b.ReportMetric(mem["RssFile"], "rss-file-MB")
		reportBuckets(b, db) // after the RSS: it reads every page of both buckets

		n := min(10_000, want)
		start = time.Now()
		dequeue(b, q, n)
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "dequeue-urls/s")
		if err := q.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(procStatus(b)["VmHWM"], "peak-rss-MB")
		if st, err := os.Stat(path); err == nil {
			b.ReportMetric(float64(st.Size())/(1<<20), "file-MB")
		}
		db.Close()
	}
}

// procStatus returns the memory lines of /proc/self/status in MiB.
func procStatus(b *testing.B) map[string]float64 {
	b.Helper()
	kib, err := procstatus.Read(0)
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	out := make(map[string]float64, len(kib))
	for k, v := range kib {
		out[k] = float64(v) / 1024
	}
	return out
}

// reportBuckets reports the bytes of pages each frontier bucket holds.
func reportBuckets(b *testing.B, db *store.DB) {
	b.Helper()
	err := db.View(func(tx *store.Tx) error {
		for _, name := range [][]byte{bucketSeen, bucketQueue} {
			st := tx.Bolt().Bucket(name).Stats()
			b.ReportMetric(float64(st.BranchAlloc+st.LeafAlloc)/(1<<20), string(name)+"-MB")
			b.ReportMetric(float64(st.LeafInuse)/float64(st.LeafAlloc), string(name)+"-fill")
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReadQueueStaged lists a whole queue of about 106,000 URLs in
// pages of 256, a transaction each, as the API does, while 99,000 of them
// are staged (what a crash can leave, up to about stageMax): 1,000 hosts,
// each with 99 staged URLs and about 7 inserted among them. One op is the
// whole listing.
func BenchmarkReadQueueStaged(b *testing.B) {
	const hosts, stagedPages = 1000, 99
	db, want := stagedFile(b, hosts, stagedPages)
	b.ResetTimer()
	for b.Loop() {
		if n := len(readAll(b, db, "", 256)); n != want {
			b.Fatalf("listed %d URLs; want %d", n, want)
		}
	}
}

// stagedFile returns a read-only store holding what a crash leaves: the
// URLs of hosts hosts, stagedPages staged on each (one link per host per
// batch), and after every tenth batch 4 links to each of 200 of them,
// inserted; and how many URLs are queued.
func stagedFile(b *testing.B, hosts, stagedPages int) (*store.DB, int) {
	b.Helper()
	db, q := openBench(b, Options{})
	q.SetPaused(true) // nothing asks for the staged URLs: no merge before stageAge
	ctx := context.Background()
	url := func(h, n int) Link {
		return Link{URL: fmt.Sprintf("https://%s/articles/%d", benchHost(h), n), Host: benchHost(h), Parent: "https://" + benchHost(h) + "/", Depth: 1}
	}
	total, direct := 0, 0
	for p := range stagedPages {
		links := make([]Link, hosts)
		for h := range hosts {
			links[h] = url(h, p)
		}
		if p%10 == 9 { // 200 hosts: too few to stage
			for h := range 200 {
				for range 4 {
					links = append(links, url((h*7+p)%hosts, 1_000_000+direct))
					direct++
				}
			}
		}
		for len(links) > 0 {
			n, err := q.Add(ctx, links[:min(hosts, len(links))])
			if err != nil {
				b.Fatal(err)
			}
			total += n
			links = links[min(hosts, len(links)):]
		}
	}
	path := filepath.Join(b.TempDir(), "crash.db")
	err := db.View(func(tx *store.Tx) error {
		if n := stagedKeys(tx); n != hosts*stagedPages {
			return fmt.Errorf("%d URLs staged; want %d (merged too soon?)", n, hosts*stagedPages)
		}
		return tx.Bolt().CopyFile(path, 0o600)
	})
	if err != nil {
		b.Fatal(err)
	}
	snap, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { snap.Close() })
	return snap, total
}

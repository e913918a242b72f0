package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"crawler/internal/benchenv"
)

// Store benchmark (issue 7, target 5): BenchmarkStore200k fills a store the
// way a crawl does (Tx.PutPage and Tx.PutBody of bodies compressed with
// DB.CompressBody, committed in batches, fsync on) with 200,000 pages of
// generated but realistic HTML, then reports the file bytes per stored page
// against the average raw page size, and the latency of what `pages get`
// does: a read-only open, then Tx.Page + Tx.Body of one URL.
//
//	go test -run '^$' -bench Store200k -benchtime 1x ./store
//
// BENCH_SCALE (default 1) multiplies the page count, e.g. 0.05 for a quick
// run.

const (
	storePages     = 200_000
	storeHosts     = 200
	storeBatch     = 500    // pages per write transaction, as the frontier's writer batches
	storeLookups   = 20_000 // random Page+Body lookups timed after the build
	paragraphPool  = 20_000 // distinct paragraphs pages are built from
	vocabularySize = 8_000
)

// htmlGen makes pages that compress like real ones: per-site boilerplate
// (head, navigation, footer), an article of Zipf-distributed words with
// inline links and images, and a list of related links. Sizes vary from
// about 8 KB to 70 KB (mean about 30 KB, the median HTML size of the web).
type htmlGen struct {
	words []string
	paras []string
	sites []string // per-host boilerplate header
	foots []string // per-host footer
}

func newHTMLGen() *htmlGen {
	rng := rand.New(rand.NewPCG(1, 2))
	g := &htmlGen{}
	const letters = "etaoinshrdlcumwfgypbvkjxqz"
	for range vocabularySize {
		n := 2 + rng.IntN(9)
		var w strings.Builder
		for range n {
			// Skewed letter choice, like English.
			w.WriteByte(letters[min(rng.IntN(len(letters)), rng.IntN(len(letters)))])
		}
		g.words = append(g.words, w.String())
	}
	zipf := rand.NewZipf(rng, 1.1, 1, vocabularySize-1)
	word := func() string { return g.words[zipf.Uint64()] }
	sentence := func(b *strings.Builder, n int) {
		for i := range n {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(word())
		}
	}
	for range paragraphPool {
		var b strings.Builder
		b.WriteString(`<p class="article__paragraph">`)
		for s := range 3 + rng.IntN(6) {
			if s > 0 {
				b.WriteByte(' ')
			}
			sentence(&b, 6+rng.IntN(18))
			b.WriteString(".")
			switch rng.IntN(8) {
			case 0:
				fmt.Fprintf(&b, ` <a href="/articles/%d/%s-%s-%d" class="inline-link">`, 2010+rng.IntN(15), word(), word(), rng.IntN(100000))
				sentence(&b, 2+rng.IntN(4))
				b.WriteString(`</a>`)
			case 1:
				fmt.Fprintf(&b, ` <img src="https://cdn.example.net/images/%x.jpg" alt="`, rng.Uint64())
				sentence(&b, 3+rng.IntN(5))
				b.WriteString(`" loading="lazy" width="640" height="360">`)
			}
		}
		b.WriteString("</p>\n")
		g.paras = append(g.paras, b.String())
	}
	for h := range storeHosts {
		var b strings.Builder
		fmt.Fprintf(&b, `<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="https://www.site%03d.example.com/static/css/main.%x.css">
<link rel="icon" href="/favicon.ico"><link rel="preconnect" href="https://cdn.example.net">
<script async src="https://www.googletagmanager.com/gtag/js?id=G-%X"></script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}gtag('js',new Date());gtag('config','G-%X');</script>
</head><body class="page page--article"><header class="site-header"><div class="site-header__inner">
<a class="site-header__logo" href="/"><img src="/static/img/logo.svg" alt="Site %d"></a>
<nav class="site-nav" aria-label="Main"><ul class="site-nav__list">
`, h, rng.Uint64(), rng.Uint32(), rng.Uint32(), h)
		for range 12 + rng.IntN(20) {
			w := word()
			fmt.Fprintf(&b, `<li class="site-nav__item"><a class="site-nav__link" href="/section/%s">%s</a></li>`+"\n", w, w)
		}
		b.WriteString("</ul></nav></div></header>\n")
		g.sites = append(g.sites, b.String())
		b.Reset()
		b.WriteString(`<footer class="site-footer"><div class="site-footer__columns">`)
		for range 3 {
			b.WriteString(`<ul class="site-footer__list">`)
			for range 6 {
				w := word()
				fmt.Fprintf(&b, `<li><a href="/about/%s">%s</a></li>`, w, w)
			}
			b.WriteString("</ul>\n")
		}
		fmt.Fprintf(&b, `</div><p class="site-footer__legal">&copy; 2025 Site %d. All rights reserved.</p></footer>
<script src="/static/js/app.%x.js" defer></script></body></html>
`, h, rng.Uint64())
		g.foots = append(g.foots, b.String())
	}
	return g
}

// page builds page i (deterministic) and returns its URL, title and HTML.
func (g *htmlGen) page(i int) (url, title string, html []byte) {
	rng := rand.New(rand.NewPCG(uint64(i), 99))
	h := i % storeHosts
	title = g.words[rng.IntN(200)] + " " + g.words[rng.IntN(vocabularySize)] + " " + g.words[rng.IntN(vocabularySize)]
	url = fmt.Sprintf("https://www.site%03d.example.com/articles/%d/%02d/%s-%d", h, 2010+i%15, i%12+1,
		strings.ReplaceAll(title, " ", "-"), i)
	var b strings.Builder
	fmt.Fprintf(&b, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>%s | Site %d</title>
<meta name="description" content="%s">
<link rel="canonical" href="%s">
`, title, h, g.paras[rng.IntN(len(g.paras))][30:150], url)
	b.WriteString(g.sites[h])
	fmt.Fprintf(&b, `<main class="content"><article class="article"><h1 class="article__title">%s</h1>
<div class="article__meta"><time datetime="2024-%02d-%02d">%d %s 2024</time> by <a href="/authors/%s">%s</a></div>
`, title, i%12+1, i%28+1, i%28+1, g.words[i%50], g.words[i%300], g.words[i%300])
	// Paragraph count: a skewed spread, mean about 45.
	n := 10 + rng.IntN(40) + rng.IntN(40)*rng.IntN(3)/2
	for range n {
		b.WriteString(g.paras[rng.IntN(len(g.paras))])
	}
	b.WriteString(`</article><aside class="related"><h2>Related</h2><ul class="related__list">` + "\n")
	for range 10 {
		j := rng.IntN(storePages)
		fmt.Fprintf(&b, `<li class="related__item"><a href="/articles/%d/%02d/%s-%d">%s %s</a></li>`+"\n",
			2010+j%15, j%12+1, g.words[j%vocabularySize], j, g.words[j%vocabularySize], g.words[(j*7)%vocabularySize])
	}
	b.WriteString("</ul></aside></main>\n")
	b.WriteString(g.foots[h])
	return url, title, []byte(b.String())
}

// record is the page record a crawl would store for a fetched page.
func record(url, title string, i int, body []byte) *Page {
	sum := sha256.Sum256(body)
	host, _, _ := strings.Cut(strings.TrimPrefix(url, "https://"), "/")
	return &Page{
		URL: url, Host: host,
		Status: 200, ContentType: "text/html", Charset: "utf-8", Title: title,
		FetchedAt:  time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		DurationMS: int64(40 + i%200), Depth: 1 + i%6, Parent: url[:strings.LastIndex(url, "/")+1],
		Outlinks: 60 + i%80, TextLen: len(body) / 2, BodyBytes: int64(len(body)), WireBytes: int64(len(body)/4 + 300),
		Hash: hex.EncodeToString(sum[:]),
		Header: http.Header{
			"Content-Type":  {"text/html; charset=utf-8"},
			"Date":          {"Wed, 01 Jan 2025 00:00:00 GMT"},
			"Server":        {"nginx"},
			"Cache-Control": {"max-age=600"},
			"Etag":          {fmt.Sprintf(`W/"%x"`, sum[:8])},
			"Last-Modified": {"Tue, 31 Dec 2024 12:00:00 GMT"},
			"Vary":          {"Accept-Encoding"},
		},
		ETag: fmt.Sprintf(`W/"%x"`, sum[:8]), LastModified: "Tue, 31 Dec 2024 12:00:00 GMT",
	}
}

type built struct {
	page *Page
	body []byte // compressed
}

// fill writes pages 0..n-1 in batches of storeBatch, generating and
// compressing on every CPU (as the parse pool does) and committing on one
// goroutine (as the frontier's writer does). It returns the raw HTML bytes.
func fill(b *testing.B, db *DB, g *htmlGen, n int) (rawBytes int64) {
	b.Helper()
	workers := runtime.GOMAXPROCS(0)
	for lo := 0; lo < n; lo += storeBatch {
		hi := min(lo+storeBatch, n)
		batch := make([]built, hi-lo)
		raw := make([]int64, workers) // per worker
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := lo + w; i < hi; i += workers {
					url, title, html := g.page(i)
					raw[w] += int64(len(html))
					batch[i-lo] = built{record(url, title, i, html), db.CompressBody(html)}
				}
			}()
		}
		wg.Wait()
		for _, r := range raw {
			rawBytes += r
		}
		err := db.Update(func(tx *Tx) error {
			for _, p := range batch {
				if err := tx.PutPage(p.page); err != nil {
					return err
				}
				if err := tx.PutBody(p.page.URL, p.body); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return rawBytes
}

// BenchmarkStore200k reports bytes-per-page (file size / pages), raw-KB
// (mean HTML size), ratio (the two divided: the target is <= 0.5), the
// build rate, and the latency of a read-only open and of Tx.Page+Tx.Body
// in one View per lookup (p50/p99/max over 20,000 random URLs). Run it
// with -benchtime 1x: every op builds the whole store again.
func BenchmarkStore200k(b *testing.B) {
	n := max(int(storePages*benchenv.Scale(b)), storeBatch)
	g := newHTMLGen()
	for range b.N {
		path := filepath.Join(b.TempDir(), "crawl.db")
		db, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		raw := fill(b, db, g, n)
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "build-pages/s")
		var c Counts
		_ = db.View(func(tx *Tx) error { c = tx.Counts(); return nil })
		if c.Pages != int64(n) {
			b.Fatalf("stored %d pages; want %d", c.Pages, n)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		lst, err := os.Stat(valuesPath(path, 1))
		if err != nil {
			b.Fatal(err)
		}
		perPage := float64(st.Size()+lst.Size()) / float64(n)
		rawPerPage := float64(raw) / float64(n)
		b.ReportMetric(perPage, "bytes/page")
		b.ReportMetric(rawPerPage/1024, "raw-KB/page")
		b.ReportMetric(perPage/rawPerPage, "ratio")
		b.ReportMetric(float64(c.BodyBytes)/float64(n), "body-bytes/page")

		start = time.Now()
		db, err = Open(path, Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "open-ms")
		lat := lookups(b, db, g, n)
		b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
		b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
		b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
		db.Close()
	}
}

// lookups times Tx.Page+Tx.Body of random stored URLs, one View each,
// checking every answer, and returns the latencies sorted.
func lookups(b *testing.B, db *DB, g *htmlGen, n int) []time.Duration {
	b.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	lat := make([]time.Duration, 0, storeLookups)
	for range storeLookups {
		i := rng.IntN(n)
		url, _, html := g.page(i)
		t0 := time.Now()
		var p *Page
		var body []byte
		err := db.View(func(tx *Tx) error {
			var err error
			if p, err = tx.Page(url); err != nil {
				return err
			}
			body, err = tx.Body(url)
			return err
		})
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatalf("lookup %s: %v", url, err)
		}
		if p.URL != url || len(body) != len(html) {
			b.Fatalf("lookup %s: got %s with %d body bytes; want %d", url, p.URL, len(body), len(html))
		}
	}
	slices.Sort(lat)
	return lat
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkCompressBody compresses generated pages (8–70 KB) from as many
// goroutines as GOMAXPROCS, as the crawler's parse pool does: the encoder
// must not make them take turns.
func BenchmarkCompressBody(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "crawl.db"), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	g := newHTMLGen()
	pages := make([][]byte, 64)
	total := 0
	for i := range pages {
		_, _, pages[i] = g.page(i)
		total += len(pages[i])
	}
	b.SetBytes(int64(total / len(pages)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if len(db.CompressBody(pages[i%len(pages)])) == 0 {
				b.Error("nothing compressed")
				return
			}
		}
	})
}

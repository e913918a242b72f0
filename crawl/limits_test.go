package crawl

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"crawler/config"
	"crawler/frontier"
	"crawler/internal/testsite"
	"crawler/store"
)

// With fetch.politeness_key: domain, the hosts of one registrable domain
// share one concurrency slot and one delay: the site's requests never
// overlap and are spaced by the delay, while another domain goes on
// beside them; the frontier keys its queues by domain, and page records
// keep their own host. The hosts are names only the stand-in proxy
// answers for.
func TestPolitenessByDomain(t *testing.T) {
	const delay = 100 * time.Millisecond
	var mu sync.Mutex
	inflight := map[string]int{} // by domain
	peak := map[string]int{}
	starts := map[string][]time.Time{}
	domain := func(host string) string {
		if strings.HasSuffix(host, "site.test") {
			return "site.test"
		}
		return host
	}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := domain(r.URL.Hostname())
		mu.Lock()
		inflight[d]++
		peak[d] = max(peak[d], inflight[d])
		starts[d] = append(starts[d], time.Now())
		mu.Unlock()
		time.Sleep(20 * time.Millisecond) // long enough for an overlap to show
		if r.URL.Path == "/" {
			fmt.Fprint(w, `<html><a href="/1">1</a> <a href="/2">2</a></html>`)
		}
		mu.Lock()
		inflight[d]--
		mu.Unlock()
	}))
	defer proxy.Close()
	cfg := testConfig(t, "http://www.site.test/", "http://docs.site.test/", "http://other.test/")
	cfg.Fetch.Proxy = proxy.URL
	cfg.Fetch.PolitenessKey = "domain"
	cfg.Fetch.PerHostConcurrency = 1
	cfg.Fetch.PerHostDelay = delay
	db := crawlToIdle(t, cfg)

	mu.Lock()
	defer mu.Unlock()
	if n := len(starts["site.test"]); n != 8 { // robots.txt, /, /1, /2 on each host
		t.Errorf("site.test: %d requests; want 8", n)
	}
	if peak["site.test"] != 1 {
		t.Errorf("site.test: %d requests at once; want 1 (its hosts share one slot)", peak["site.test"])
	}
	s := starts["site.test"]
	sort.Slice(s, func(i, j int) bool { return s[i].Before(s[j]) })
	if span, least := s[len(s)-1].Sub(s[0]), time.Duration(len(s)-1)*delay; span < least {
		t.Errorf("site.test: %d requests over %v; want at least %v (one delay between each)", len(s), span, least)
	}
	if p := page(t, db, "http://docs.site.test/1"); p.Host != "docs.site.test" || p.Status != 200 {
		t.Errorf("page record: %+v; want its own host", p)
	}
	var keys []string
	err := db.View(func(tx *store.Tx) error {
		return frontier.ReadHosts(tx, func(h *frontier.HostInfo) error {
			keys = append(keys, fmt.Sprintf("%s:%d", h.Host, h.Done))
			return nil
		})
	})
	if err != nil || strings.Join(keys, " ") != "other.test:3 site.test:6" {
		t.Errorf("frontier hosts %q, %v; want other.test with 3 done and site.test with 6", keys, err)
	}
}

// scope.max_pages bounds the pages of the whole crawl, seeds included;
// a host_limits entry's max_pages bounds its host's below
// max_pages_per_host; the links refused are counted as trapped.
func TestCrawlBudgets(t *testing.T) {
	site, err := testsite.Start(testsite.Options{Hosts: 3, Pages: 20, Links: 4, FirstIP: "127.0.1.96"})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	cfg := testConfig(t, site.Seeds()...)
	cfg.Scope.MaxPages = 25
	cfg.Scope.MaxPagesPerHost = 12
	cfg.Fetch.HostLimits = []config.HostLimit{{Host: site.Hosts()[0], MaxPages: 4}}
	db := crawlToIdle(t, cfg)
	perHost := map[string]int{}
	total := 0
	err = db.View(func(tx *store.Tx) error {
		return tx.ForEachPage("", "", func(p *store.Page) error {
			perHost[p.Host]++
			total++
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != 25 || perHost[site.Hosts()[0]] != 4 || perHost[site.Hosts()[1]] > 12 || perHost[site.Hosts()[2]] > 12 {
		t.Errorf("stored %d pages, %v per host; want 25 in all, 4 of %s, at most 12 of the others", total, perHost, site.Hosts()[0])
	}
	var trapped int64
	_ = db.View(func(tx *store.Tx) error { trapped = frontier.ReadCounts(tx).Trapped; return nil })
	if trapped == 0 {
		t.Error("no link counted as trapped")
	}
}

package crawl

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/goleak"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"

	"crawler/frontier"
	"crawler/robots"
	"crawler/store"
)

// TestHostileSite crawls a multi-host site that serves every hostile case
// of the issue next to healthy pages, and checks the outcome recorded for
// each URL, the retries and their spacing, politeness, and that every
// healthy page was stored.
func TestHostileSite(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	site := newHostileSite(t)
	home := site.host("home")
	other := site.host("other")
	content := site.host("content")
	bodies := site.host("bodies")
	retry := site.host("retry")
	reset := site.host("reset")
	slow := site.host("trickle")
	mute := site.host("slow-headers")
	redir := site.host("redirects")
	r404 := site.host("robots-404")
	rRedir := site.host("robots-redirect")
	rLoop := site.host("robots-redirect-loop")
	r5xx := site.host("robots-5xx")
	down := site.deadHost()

	// healthy lists every page that must be stored as a plain 200, with
	// its title.
	healthy := map[string]string{}
	healthyPage := func(h *hostileHost, path string, links ...string) string {
		title := h.name + " " + path
		h.html(path, title, links...)
		healthy[h.url(path)] = title
		return h.url(path)
	}
	okPages := func(h *hostileHost, n int) []string {
		var out []string
		for i := range n {
			out = append(out, healthyPage(h, fmt.Sprintf("/ok/%d", i)))
		}
		return out
	}
	var links []string // everything the home page links to

	// Healthy hosts with a real robots.txt.
	home.robots("User-agent: *\nDisallow: /private/\n")
	other.robots("User-agent: *\nDisallow: /private/\n")
	var otherPages []string
	for i := range 5 {
		otherPages = append(otherPages, fmt.Sprintf("/p/%d", i))
	}
	links = append(links, healthyPage(other, "/", otherPages...))
	for _, p := range otherPages {
		healthyPage(other, p, "/")
	}
	for i := range 5 {
		links = append(links, healthyPage(home, fmt.Sprintf("/h/%d", i), "/"))
	}

	// Content that is odd but not an error.
	content.handle("/empty", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
	})
	noise := randomBytes(8 << 10)
	content.handle("/random", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(noise)
	})
	const gbkTitle, sjisTitle = "中文网页标题", "日本語のページ"
	gbkBody, err := simplifiedchinese.GBK.NewEncoder().String(htmlPage(gbkTitle))
	if err != nil {
		t.Fatal(err)
	}
	content.handle("/gbk", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=GBK")
		_, _ = io.WriteString(w, gbkBody)
	})
	sjisBody, err := japanese.ShiftJIS.NewEncoder().String(
		`<html><head><meta charset="Shift_JIS"><title>` + sjisTitle + `</title></head><body>本文</body></html>`)
	if err != nil {
		t.Fatal(err)
	}
	content.handle("/sjis", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, sjisBody)
	})
	content.handle("/malformed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, `<html><head><title>Broken page</title><body><div><p><a href=/m/1>one<a href='/m/2'>two`+
			`</b></i></div></div></span><table><td><a href="/m/3" <p>three</table></html></html><a href="/m/`)
	})
	for i := 1; i <= 3; i++ {
		healthyPage(content, fmt.Sprintf("/m/%d", i))
	}
	longHref := "/" + strings.Repeat("a", 100<<10)
	content.handle("/long-href", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, htmlPage("long href", longHref, "/after-long"))
	})
	healthyPage(content, "/after-long")
	pdf := []byte("%PDF-1.4\n<html><title>not html</title><a href=\"/pdf-link\">x</a></html>\n%%EOF\n")
	content.handle("/file.pdf", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write(pdf)
	})
	content.html("/pdf-link", "must never be requested")
	for _, p := range []string{"/empty", "/random", "/gbk", "/sjis", "/malformed", "/long-href", "/file.pdf"} {
		links = append(links, content.url(p))
	}
	links = append(links, okPages(content, 2)...)

	// Bodies that never end or explode.
	bomb := gzipBomb(t, 200<<20)
	bodies.handleOpen("/endless", site.endless(0))
	bodies.handleOpen("/huge", site.endless(200<<20))
	bodies.handleOpen("/bomb", serveBomb(bomb))
	links = append(links, bodies.url("/endless"), bodies.url("/huge"), bodies.url("/bomb"))
	links = append(links, okPages(bodies, 2)...)

	// Server errors: always, and once.
	retry.handle("/always-503", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	var flakyOnce = make(chan struct{}, 1)
	flakyOnce <- struct{}{}
	retry.handle("/flaky", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-flakyOnce:
			http.Error(w, "oops", http.StatusInternalServerError)
		default:
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, htmlPage("flaky"))
		}
	})
	links = append(links, retry.url("/always-503"), retry.url("/flaky"))
	links = append(links, okPages(retry, 2)...)

	// Connection failures: reset mid-body, a trickle, no answer at all.
	reset.handleOpen("/reset", resetMidBody)
	links = append(links, reset.url("/reset"))
	links = append(links, okPages(reset, 1)...)
	slow.handleOpen("/trickle", site.trickle(250*time.Millisecond))
	links = append(links, slow.url("/trickle"))
	links = append(links, okPages(slow, 1)...)
	mute.handleOpen("/no-headers", func(w http.ResponseWriter, r *http.Request) { site.wait(r) })
	links = append(links, mute.url("/no-headers"))
	links = append(links, okPages(mute, 1)...)

	// Redirects: a loop back to the start, a self-loop, an endless chain,
	// a loop that does not come back to the start, and a healthy one.
	redirect := func(from, to string) {
		redir.handle(from, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusFound) })
	}
	redirect("/loop/a", "/loop/b")
	redirect("/loop/b", "/loop/a")
	redirect("/self", "/self")
	for i := range 20 {
		redirect(fmt.Sprintf("/chain/%d", i), fmt.Sprintf("/chain/%d", i+1))
	}
	redirect("/cycle/a", "/cycle/b")
	redirect("/cycle/b", "/cycle/c")
	redirect("/cycle/c", "/cycle/b")
	redirect("/moved", "/ok/0")
	okPages(redir, 1)
	for _, p := range []string{"/loop/a", "/self", "/chain/0", "/cycle/a", "/moved"} {
		links = append(links, redir.url(p))
	}

	// robots.txt: 404 (allow all), redirected twice to rules, redirected
	// forever (allow all after robots.MaxRedirects hops), 5xx and
	// unreachable (nothing fetched, URLs fail).
	links = append(links, healthyPage(r404, "/", "/private/x"))
	healthyPage(r404, "/private/x")
	rRedir.handle("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/robots-1.txt", http.StatusMovedPermanently)
	})
	rRedir.handle("/robots-1.txt", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/robots-2.txt", http.StatusFound)
	})
	rRedir.handle("/robots-2.txt", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "User-agent: *\nDisallow: /secret\n")
	})
	links = append(links, healthyPage(rRedir, "/open"), rRedir.url("/secret"))
	rRedir.html("/secret", "secret")
	for i := range 20 {
		from := "/robots.txt"
		if i > 0 {
			from = fmt.Sprintf("/robots-%d.txt", i)
		}
		to := fmt.Sprintf("/robots-%d.txt", i+1)
		rLoop.handle(from, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusFound) })
	}
	links = append(links, okPages(rLoop, 1)...)
	r5xx.handle("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	})
	r5xx.html("/", "never")
	r5xx.html("/x", "never")
	links = append(links, r5xx.url("/"), r5xx.url("/x"), "http://"+down+"/", "http://"+down+"/y")

	healthyPage(home, "/", links...)

	cfg := hostileConfig(t, []string{home.url("/")}, site.addrs(down))
	var engine *Engine
	db := runCrawl(t, cfg, func(_ context.Context, e *Engine) { engine = e })
	maxBody := cfg.Fetch.MaxBodyBytes
	attempts := 1 + cfg.Fetch.Retries

	get := func(url string) (frontier.State, *store.Page) {
		t.Helper()
		o := lookup(t, db, url)
		if o.page == nil {
			t.Errorf("%s: no record stored (state %v)", url, o.state)
			return o.state, &store.Page{}
		}
		return o.state, o.page
	}

	t.Run("healthy pages stored", func(t *testing.T) {
		for url, title := range healthy {
			st, p := get(url)
			if st != frontier.StateDone || p.Status != 200 || p.Error != "" || p.Title != title || p.Attempts != 1 {
				t.Errorf("%s: state %v status %d error %q title %q attempts %d; want done 200, no error, title %q, 1 attempt",
					url, st, p.Status, p.Error, p.Title, p.Attempts, title)
			}
		}
		for _, h := range site.hosts {
			for _, r := range h.requests() {
				if _, ok := healthy[h.url(r.uri)]; ok && h.count(r.uri) != 1 {
					t.Errorf("%s requested %d times; want once", h.url(r.uri), h.count(r.uri))
				}
			}
		}
		for _, h := range []*hostileHost{home, other, content, bodies, retry, reset, slow, mute, redir, r404} {
			if n := h.count("/robots.txt"); n != 1 {
				t.Errorf("%s: robots.txt requested %d times; want 1", h.name, n)
			}
		}
	})

	t.Run("odd content", func(t *testing.T) {
		st, p := get(content.url("/empty"))
		if st != frontier.StateDone || p.Status != 200 || p.BodyBytes != 0 || p.Error != "" {
			t.Errorf("empty 200: %v %+v", st, p)
		}
		st, p = get(content.url("/random"))
		if st != frontier.StateDone || p.Status != 200 || p.BodyBytes != int64(len(noise)) || !utf8.ValidString(p.Title) {
			t.Errorf("random bytes as text/html: %v status %d body %d title %q", st, p.Status, p.BodyBytes, p.Title)
		}
		if _, p = get(content.url("/gbk")); p.Title != gbkTitle || p.Charset != "gbk" {
			t.Errorf("GBK page: title %q charset %q; want %q gbk", p.Title, p.Charset, gbkTitle)
		}
		if _, p = get(content.url("/sjis")); p.Title != sjisTitle || p.Charset != "shift_jis" {
			t.Errorf("Shift_JIS page: title %q charset %q; want %q shift_jis", p.Title, p.Charset, sjisTitle)
		}
		if _, p = get(content.url("/malformed")); p.Title != "Broken page" || p.Outlinks < 3 {
			t.Errorf("malformed HTML: title %q outlinks %d; want \"Broken page\", >= 3 (the /m/ pages, stored)", p.Title, p.Outlinks)
		}
		_, p = get(content.url("/long-href"))
		if p.Status != 200 || p.Extra["links_dropped"] != "1" || p.Outlinks != 1 {
			t.Errorf("100 kB href: status %d extra %v outlinks %d; want 200, links_dropped 1, 1 outlink", p.Status, p.Extra, p.Outlinks)
		}
		st, p = get(content.url("/file.pdf"))
		if st != frontier.StateDone || p.ContentType != "application/pdf" || p.BodyBytes != int64(len(pdf)) ||
			p.Title != "" || p.Outlinks != 0 {
			t.Errorf("PDF: %v type %q body %d title %q outlinks %d; want done, recorded, not parsed",
				st, p.ContentType, p.BodyBytes, p.Title, p.Outlinks)
		}
		if n := content.count("/pdf-link"); n != 0 {
			t.Errorf("a link inside the PDF was followed")
		}
	})

	t.Run("bodies capped", func(t *testing.T) {
		for _, path := range []string{"/endless", "/huge", "/bomb"} {
			st, p := get(bodies.url(path))
			if st != frontier.StateDone || p.Status != 200 || !p.Truncated || p.BodyBytes != maxBody || p.Error != "" ||
				p.Attempts != 1 {
				t.Errorf("%s: %v status %d truncated %v body %d error %q attempts %d; want done 200 truncated at %d, 1 attempt",
					path, st, p.Status, p.Truncated, p.BodyBytes, p.Error, p.Attempts, maxBody)
			}
			if n := bodies.count(path); n != 1 {
				t.Errorf("%s requested %d times; want once", path, n)
			}
		}
		if _, p := get(bodies.url("/bomb")); p.WireBytes >= maxBody {
			t.Errorf("gzip bomb: %d wire bytes read; want the decoded cap to stop it well before %d", p.WireBytes, maxBody)
		}
	})

	t.Run("retried failures", func(t *testing.T) {
		tests := []struct {
			h        *hostileHost
			path     string
			state    frontier.State
			status   int
			errHas   []string
			attempts int
		}{
			{retry, "/always-503", frontier.StateFailed, 503, []string{"503", fmt.Sprintf("after %d attempts", attempts)}, attempts},
			{retry, "/flaky", frontier.StateDone, 200, nil, 2},
			{reset, "/reset", frontier.StateFailed, 200, []string{"network"}, attempts},
			{slow, "/trickle", frontier.StateFailed, 200, []string{"timeout"}, attempts},
			{mute, "/no-headers", frontier.StateFailed, 0, []string{"timeout"}, attempts},
		}
		var retries int64
		for _, tt := range tests {
			retries += int64(tt.attempts - 1)
			st, p := get(tt.h.url(tt.path))
			if st != tt.state || p.Status != tt.status || p.Attempts != tt.attempts || (tt.errHas == nil) != (p.Error == "") {
				t.Errorf("%s: %v status %d attempts %d error %q; want %v status %d attempts %d error with %q",
					tt.path, st, p.Status, p.Attempts, p.Error, tt.state, tt.status, tt.attempts, tt.errHas)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(p.Error, s) {
					t.Errorf("%s: error %q does not say %q", tt.path, p.Error, s)
				}
			}
			checkRetryGaps(t, tt.h, tt.path, tt.attempts, cfg.Fetch.RetryBaseDelay, cfg.Fetch.RetryMaxDelay)
		}
		if n := engine.Stats().Retries.Load(); n != retries {
			t.Errorf("Stats().Retries = %d; want %d, one per page retry above", n, retries)
		}
	})

	t.Run("redirects", func(t *testing.T) {
		failedWith := func(path, want string) {
			t.Helper()
			st, p := get(redir.url(path))
			if st != frontier.StateFailed || !strings.Contains(p.Error, want) {
				t.Errorf("%s: %v error %q; want failed with %q", path, st, p.Error, want)
			}
		}
		if _, p := get(redir.url("/loop/a")); p.Status != 302 || p.RedirectTo != redir.url("/loop/b") {
			t.Errorf("/loop/a: status %d redirect_to %q", p.Status, p.RedirectTo)
		}
		failedWith("/loop/b", "redirect loop")
		failedWith("/self", "redirect loop")
		failedWith(fmt.Sprintf("/chain/%d", cfg.Fetch.MaxRedirects), "too many redirects")
		for i := range cfg.Fetch.MaxRedirects + 1 {
			if n := redir.count(fmt.Sprintf("/chain/%d", i)); n != 1 {
				t.Errorf("/chain/%d requested %d times; want once", i, n)
			}
		}
		if n := redir.count(fmt.Sprintf("/chain/%d", cfg.Fetch.MaxRedirects+1)); n != 0 {
			t.Errorf("redirect chain followed past max_redirects (%d)", cfg.Fetch.MaxRedirects)
		}
		// a → b → c → b: the chain never ends on a page, so its last
		// hop must say so rather than end silently as a plain redirect.
		failedWith("/cycle/c", "redirect")
		for _, p := range []string{"/cycle/a", "/cycle/b", "/cycle/c"} {
			if n := redir.count(p); n != 1 {
				t.Errorf("%s requested %d times; want once", p, n)
			}
		}
		if _, p := get(redir.url("/moved")); p.Status != 302 || p.RedirectTo != redir.url("/ok/0") || p.Error != "" {
			t.Errorf("/moved: status %d redirect_to %q error %q", p.Status, p.RedirectTo, p.Error)
		}
	})

	t.Run("robots", func(t *testing.T) {
		if st, _ := get(r404.url("/private/x")); st != frontier.StateDone {
			t.Errorf("robots.txt 404: /private/x %v; want fetched (all allowed)", st)
		}
		if o := lookup(t, db, rRedir.url("/secret")); o.state != frontier.StateDisallowed || rRedir.count("/secret") != 0 {
			t.Errorf("redirected robots.txt: /secret %v, requested %d times; want disallowed, never requested",
				o.state, rRedir.count("/secret"))
		}
		for _, p := range []string{"/robots.txt", "/robots-1.txt", "/robots-2.txt"} {
			if n := rRedir.count(p); n != 1 {
				t.Errorf("redirected robots.txt: %s requested %d times; want once", p, n)
			}
		}
		var hops int
		for _, r := range rLoop.requests() {
			if strings.HasPrefix(r.uri, "/robots") {
				hops++
			}
		}
		if hops != 1+robots.MaxRedirects {
			t.Errorf("endless robots.txt redirects: %d requests; want 1 + %d hops", hops, robots.MaxRedirects)
		}
		for _, url := range []string{r5xx.url("/"), r5xx.url("/x"), "http://" + down + "/", "http://" + down + "/y"} {
			st, p := get(url)
			if st != frontier.StateFailed || !strings.Contains(p.Error, "robots.txt unavailable") {
				t.Errorf("%s: %v error %q; want failed, robots.txt unavailable", url, st, p.Error)
			}
		}
		for _, r := range r5xx.requests() {
			if r.uri != "/robots.txt" {
				t.Errorf("robots.txt 5xx: %s requested", r.uri)
			}
		}
		checkRetryGaps(t, r5xx, "/robots.txt", attempts, cfg.Fetch.RetryBaseDelay, cfg.Fetch.RetryMaxDelay)
		// Once per reachable host; 1 + retries for the 5xx and the
		// unreachable host alike.
		if n, want := engine.Stats().RobotsFetches.Load(), int64(len(site.hosts)-1+2*attempts); n != want {
			t.Errorf("Stats().RobotsFetches = %d; want %d", n, want)
		}
	})

	t.Run("politeness", func(t *testing.T) {
		for _, h := range site.hosts {
			if g, where := h.minGap(); g >= 0 && g < cfg.Fetch.PerHostDelay {
				t.Errorf("%s: two requests %v apart (%s); want >= per_host_delay %v", h.name, g, where, cfg.Fetch.PerHostDelay)
			}
			if n := h.peakInFlight(); n > cfg.Fetch.PerHostConcurrency {
				t.Errorf("%s: %d requests at once; want <= per_host_concurrency %d", h.name, n, cfg.Fetch.PerHostConcurrency)
			}
		}
	})

	var counts frontier.Counts
	db.View(func(tx *store.Tx) error { counts = frontier.ReadCounts(tx); return nil })
	if counts.Queued != 0 || counts.InFlight != 0 {
		t.Errorf("counts after idle = %+v; want nothing queued or in flight", counts)
	}
	site.close()
	// The store's own loop ends when cleanup closes it; TestMain's goleak
	// check catches it if it does not.
	goleak.VerifyNone(t, leaks, goleak.IgnoreTopFunction("crawler/store.(*DB).releaseLoop"))
}

// checkRetryGaps checks that path was requested want times on h and that
// retry n started at least 0.8·base·2^(n-1) (at most max) after the
// attempt before it.
func checkRetryGaps(t *testing.T, h *hostileHost, path string, want int, base, maxDelay time.Duration) {
	t.Helper()
	starts := h.starts(path)
	if len(starts) != want {
		t.Errorf("%s %s: %d requests; want %d", h.name, path, len(starts), want)
	}
	for n := 1; n < len(starts); n++ {
		least := min(time.Duration(float64(base<<(n-1))*0.8), maxDelay)
		if g := starts[n].Sub(starts[n-1]); g < least {
			t.Errorf("%s %s: retry %d started %v after the attempt before; want >= %v", h.name, path, n, g, least)
		}
	}
}

package crawl

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"crawler/fetcher"
	"crawler/frontier"
	"crawler/internal/urlnorm"
	"crawler/store"
)

// publicRange plays the public internet in these tests: the crawler may
// reach it although allow_private_addresses is false.
var publicRange = []netip.Prefix{netip.MustParsePrefix("127.0.1.160/29")}

// ssrfServer is an httptest server that counts requests and accepted
// connections.
type ssrfServer struct {
	*httptest.Server
	calls, conns atomic.Int32
}

// startSSRFServer serves h on ip (a loopback address), counting.
func startSSRFServer(t *testing.T, ip string, h http.HandlerFunc) *ssrfServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	s := &ssrfServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		h(w, r)
	}))
	s.Listener = ln
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(func() {
		s.CloseClientConnections()
		s.Close()
	})
	return s
}

func (s *ssrfServer) port() int { return s.Listener.Addr().(*net.TCPAddr).Port }

// failedRecord returns raw's page record, failing the test unless the URL
// ended failed.
func failedRecord(t *testing.T, db *store.DB, raw string) *store.Page {
	t.Helper()
	u, err := urlnorm.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	p := page(t, db, u.String())
	var st frontier.State
	_ = db.View(func(tx *store.Tx) (err error) {
		st, err = frontier.URLState(tx, u.String())
		return err
	})
	if st != frontier.StateFailed {
		t.Errorf("%s: state %v; want failed", raw, st)
	}
	return p
}

// With allow_private_addresses false, every way of reaching a private
// address ends in a failed URL whose record names the refusal, at the first
// attempt (a refusal is not retried), and the private server never sees a
// connection: loopback by IP, by name, in decimal and hex, IPv4-mapped and
// IPv6 loopback, link-local metadata and RFC 1918 seeds, a link and a
// redirect from a public page.
//
// 169.254.169.254 and 10.0.0.1 are safe to list: the guard is the dialer's
// Control hook (fetcher/guard.go), which runs after the socket is created
// and before connect(2), so not even a SYN leaves the machine.
func TestSSRFRefusedAtDial(t *testing.T) {
	private := startSSRFServer(t, "127.0.0.1", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><title>internal</title></html>")
	})
	pp := private.port()
	privateURL := func(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", pp, path) }
	public := startSSRFServer(t, "127.0.1.161", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, privateURL("/redirected"), http.StatusFound)
		case "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<html><title>public</title><a href="/redirect">r</a><a href="%s">l</a></html>`, privateURL("/linked"))
		default:
			http.NotFound(w, r)
		}
	})

	seeds := []string{
		privateURL("/"),
		fmt.Sprintf("http://localhost:%d/name", pp),
		fmt.Sprintf("http://2130706433:%d/decimal", pp),
		fmt.Sprintf("http://0x7f.0.0.1:%d/hex", pp),
		fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/mapped", pp),
		fmt.Sprintf("http://[::1]:%d/v6", pp),
		"http://169.254.169.254/latest/meta-data/",
		"http://10.0.0.1/",
		public.URL + "/",
	}
	cfg := testConfig(t, seeds...)
	cfg.Fetch.AllowPrivateAddresses = false
	cfg.Fetch.RespectRobots = false // robots.txt refusals: TestSSRFRobots
	db := crawlIdle(t, cfg, crawlOpts{allowed: publicRange})

	for _, raw := range append(seeds[:len(seeds)-1], privateURL("/redirected"), privateURL("/linked")) {
		p := failedRecord(t, db, raw)
		if !strings.Contains(p.Error, fetcher.ErrBlockedAddress.Error()) || !strings.Contains(p.Error, ": blocked: ") {
			t.Errorf("%s: record error %q; want the refusal", raw, p.Error)
		}
		if p.Attempts != 1 || p.Status != 0 {
			t.Errorf("%s: attempts %d, status %d; want 1 and 0 (refused at once, no response)", raw, p.Attempts, p.Status)
		}
	}
	if p := page(t, db, public.URL+"/redirect"); p.Status != http.StatusFound || p.RedirectTo != privateURL("/redirected") {
		t.Errorf("public redirect stored as %+v", p)
	}
	if p := page(t, db, public.URL+"/"); p.Status != 200 || p.Error != "" {
		t.Errorf("the public page itself: %+v", p)
	}
	if n, c := private.calls.Load(), private.conns.Load(); n != 0 || c != 0 {
		t.Errorf("private server saw %d requests on %d connections; want none", n, c)
	}
}

// A robots.txt is fetched through the same guard: one that redirects to a
// private address is unreachable (a refused fetch is a network-class
// failure that no retry can fix), so the host's URLs fail at once with the
// refusal in their record, and nothing private is ever requested. The same
// holds for a private seed when robots.txt is respected: its robots.txt is
// refused first, and its record says so.
func TestSSRFRobots(t *testing.T) {
	private := startSSRFServer(t, "127.0.0.1", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nAllow: /\n")
	})
	pp := private.port()
	public := startSSRFServer(t, "127.0.1.162", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.Redirect(w, r, fmt.Sprintf("http://127.0.0.1:%d/robots.txt", pp), http.StatusMovedPermanently)
			return
		}
		fmt.Fprint(w, "<html><title>public</title><a href=/x>x</a></html>")
	})
	cfg := testConfig(t, public.URL+"/", fmt.Sprintf("http://127.0.0.1:%d/", pp))
	cfg.Fetch.AllowPrivateAddresses = false
	cfg.Fetch.Retries = 2
	db := crawlIdle(t, cfg, crawlOpts{allowed: publicRange})

	for _, raw := range []string{public.URL + "/", fmt.Sprintf("http://127.0.0.1:%d/", pp)} {
		if p := failedRecord(t, db, raw); !strings.Contains(p.Error, "robots.txt") || !strings.Contains(p.Error, "not allowed") {
			t.Errorf("%s: record error %q; want the robots.txt refusal", raw, p.Error)
		}
	}
	// One robots.txt request, refused on its redirect; no retry, no page.
	if n := public.calls.Load(); n != 1 {
		t.Errorf("public host got %d requests; want 1 (robots.txt only)", n)
	}
	if n, c := private.calls.Load(), private.conns.Load(); n != 0 || c != 0 {
		t.Errorf("private server saw %d requests on %d connections; want none", n, c)
	}
}

package robots_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"crawler/robots"
)

// Ensure FromStatus applies RFC 9309 §2.3.1 to every class of status.
func TestFromStatus(t *testing.T) {
	body := []byte("User-agent: *\nDisallow: /private\n")
	tests := []struct {
		status      int
		private     bool // is /private allowed?
		public      bool // is /public allowed?
		unreachable bool
	}{
		{200, false, true, false},
		{203, false, true, false},
		{299, false, true, false},
		{301, true, true, false}, // redirect the caller did not follow
		{304, true, true, false},
		{400, true, true, false},
		{401, true, true, false},
		{403, true, true, false},
		{404, true, true, false},
		{410, true, true, false},
		{429, false, false, true},
		{499, true, true, false},
		{500, false, false, true},
		{503, false, false, true},
		{599, false, false, true},
		{0, false, false, true},
		{100, false, false, true},
		{199, false, false, true},
		{600, false, false, true},
		{-1, false, false, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			r := robots.FromStatus(tt.status, body, "crawler")
			expect(t, r, check{"/private", tt.private}, check{"/public", tt.public}, check{"/robots.txt", true})
			if r.Unreachable() != tt.unreachable {
				t.Errorf("Unreachable = %v, want %v", r.Unreachable(), tt.unreachable)
			}
			if r.Status() != tt.status {
				t.Errorf("Status = %d, want %d", r.Status(), tt.status)
			}
		})
	}
}

// Ensure the 5xx verdict holds even with a body that would allow everything
// (temoto/robotstxt #40: FindGroup().Test() allowed after a 5xx).
func TestFromStatus_ServerErrorIgnoresBody(t *testing.T) {
	r := robots.FromStatus(503, []byte("User-agent: *\nAllow: /\n"), "crawler")
	expect(t, r, check{"/", false}, check{"/page", false})
}

// hop is one scripted response of a fake Get.
type hop struct {
	status   int
	location string
	body     string
	err      error
}

// fakeGet serves script keyed by URL and records the requests and limits.
type fakeGet struct {
	script map[string]hop
	urls   []string
	limits []int64
}

func (f *fakeGet) get(_ context.Context, u *url.URL, maxBytes int64) (int, *url.URL, []byte, error) {
	f.urls = append(f.urls, u.String())
	f.limits = append(f.limits, maxBytes)
	h, ok := f.script[u.String()]
	if !ok {
		return 404, nil, nil, nil
	}
	var loc *url.URL
	if h.location != "" {
		var err error
		if loc, err = url.Parse(h.location); err != nil {
			panic(err)
		}
	}
	return h.status, loc, []byte(h.body), h.err
}

func origin(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

const disallowPrivate = "User-agent: *\nDisallow: /private\n"

// Ensure Fetch requests scheme://host/robots.txt, passes MaxBytes, and
// applies the status policy to a direct response.
func TestFetch_Direct(t *testing.T) {
	tests := []struct {
		name        string
		h           hop
		private     bool
		unreachable bool
	}{
		{"200", hop{status: 200, body: disallowPrivate}, false, false},
		{"404", hop{status: 404, body: disallowPrivate}, true, false},
		{"403", hop{status: 403}, true, false},
		{"429", hop{status: 429}, false, true},
		{"500", hop{status: 500}, false, true},
		{"3xx without location", hop{status: 302}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeGet{script: map[string]hop{"https://example.com:8443/robots.txt": tt.h}}
			r, err := robots.Fetch(t.Context(), f.get, origin(t, "https://example.com:8443/some/page?q#f"), "crawler")
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			expect(t, r, check{"/private", tt.private}, check{"/public", !tt.unreachable})
			if r.Unreachable() != tt.unreachable || r.Status() != tt.h.status {
				t.Errorf("Unreachable=%v Status=%d", r.Unreachable(), r.Status())
			}
			if len(f.urls) != 1 || f.urls[0] != "https://example.com:8443/robots.txt" || f.limits[0] != robots.MaxBytes+1 {
				t.Errorf("requests %q limits %v", f.urls, f.limits)
			}
		})
	}
}

// Ensure a network error yields DisallowAll, Unreachable, Status 0 and the
// error itself.
func TestFetch_NetworkError(t *testing.T) {
	errDial := errors.New("dial tcp: connection refused")
	f := &fakeGet{script: map[string]hop{"http://example.com/robots.txt": {err: errDial}}}
	r, err := robots.Fetch(t.Context(), f.get, origin(t, "http://example.com"), "crawler")
	if !errors.Is(err, errDial) {
		t.Fatalf("err = %v, want %v", err, errDial)
	}
	expect(t, r, check{"/", false}, check{"/robots.txt", true})
	if !r.Unreachable() || r.Status() != 0 {
		t.Errorf("Unreachable=%v Status=%d", r.Unreachable(), r.Status())
	}
}

// Ensure a done context stops Fetch before it calls get.
func TestFetch_ContextDone(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	f := &fakeGet{}
	r, err := robots.Fetch(ctx, f.get, origin(t, "http://example.com"), "crawler")
	if !errors.Is(err, context.Canceled) || !r.Unreachable() || len(f.urls) != 0 {
		t.Errorf("err=%v Unreachable=%v requests=%q", err, r.Unreachable(), f.urls)
	}
}

// Ensure a bad origin is refused with ErrInvalidOrigin and a fail-closed
// verdict.
func TestFetch_InvalidOrigin(t *testing.T) {
	for _, o := range []*url.URL{nil, {Scheme: "ftp", Host: "x"}, {Scheme: "https"}, {Path: "/relative"}} {
		f := &fakeGet{}
		r, err := robots.Fetch(t.Context(), f.get, o, "crawler")
		if !errors.Is(err, robots.ErrInvalidOrigin) || r.Allowed(&url.URL{Path: "/"}) || len(f.urls) != 0 {
			t.Errorf("%v: err=%v requests=%q", o, err, f.urls)
		}
	}
}

// redirectChain scripts n redirects from http://a.example/robots.txt,
// alternating hosts and using absolute and relative locations, ending in a
// 200 with disallowPrivate.
func redirectChain(n int) map[string]hop {
	script := map[string]hop{}
	cur := "http://a.example/robots.txt"
	for i := range n {
		var next, loc string
		switch i % 3 {
		case 0: // cross authority and scheme
			next = fmt.Sprintf("https://b%d.example/robots.txt", i)
			loc = next
		case 1: // relative path on the same host
			next = strings.TrimSuffix(cur, "/robots.txt") + fmt.Sprintf("/moved/%d.txt", i)
			loc = fmt.Sprintf("/moved/%d.txt", i)
		case 2: // scheme-relative to another host
			next = fmt.Sprintf("https://c%d.example/r.txt", i)
			loc = fmt.Sprintf("//c%d.example/r.txt", i)
		}
		script[cur] = hop{status: []int{301, 302, 303, 307, 308}[i%5], location: loc}
		cur = next
	}
	script[cur] = hop{status: 200, body: disallowPrivate}
	return script
}

// Ensure up to MaxRedirects hops are followed, even across authorities, and
// one more hop means "unavailable" (allow all).
func TestFetch_Redirects(t *testing.T) {
	for n := 0; n <= robots.MaxRedirects+1; n++ {
		t.Run(fmt.Sprintf("%d hops", n), func(t *testing.T) {
			f := &fakeGet{script: redirectChain(n)}
			if len(f.script) != n+1 {
				t.Fatalf("chain has %d URLs, want %d", len(f.script), n+1)
			}
			r, err := robots.Fetch(t.Context(), f.get, origin(t, "http://a.example"), "crawler")
			if err != nil {
				t.Fatal(err)
			}
			followed := n <= robots.MaxRedirects
			expect(t, r, check{"/private", !followed}, check{"/public", true})
			wantReqs := n + 1
			if !followed {
				wantReqs = robots.MaxRedirects + 1
			}
			if len(f.urls) != wantReqs {
				t.Errorf("made %d requests, want %d: %q", len(f.urls), wantReqs, f.urls)
			}
			if wantStatus := f.script[f.urls[len(f.urls)-1]].status; r.Status() != wantStatus {
				t.Errorf("Status = %d, want %d", r.Status(), wantStatus)
			}
		})
	}
}

// Ensure a redirect to a non-HTTP scheme is not followed and counts as
// unavailable.
func TestFetch_RedirectToOtherScheme(t *testing.T) {
	f := &fakeGet{script: map[string]hop{"http://a.example/robots.txt": {status: 301, location: "ftp://a.example/robots.txt"}}}
	r, err := robots.Fetch(t.Context(), f.get, origin(t, "http://a.example"), "crawler")
	if err != nil || !r.Allowed(&url.URL{Path: "/private"}) || len(f.urls) != 1 {
		t.Errorf("err=%v requests=%q", err, f.urls)
	}
}

// Ensure a Get that ignores maxBytes still has its body cut at MaxBytes
// on a line boundary (§2.5).
func TestFetch_OversizedBody(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("User-agent: *\nDisallow: /early\n")
	for b.Len() < robots.MaxBytes-5 {
		b.WriteString("#\n")
	}
	b.WriteString("Disallow: /late\n") // crosses the limit
	f := &fakeGet{script: map[string]hop{"http://a.example/robots.txt": {status: 200, body: b.String()}}}
	r, err := robots.Fetch(t.Context(), f.get, origin(t, "http://a.example"), "crawler")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, r, check{"/early", false}, check{"/late", true}, check{"/", true})
}

// Ensure a robots.txt of exactly MaxBytes octets is parsed whole (§2.5: the
// limit "MUST be at least 500 kibibytes"), its last line included when no
// line break ends it: Fetch must tell it from a longer file it cuts.
func TestFetch_BodyOfExactlyMaxBytes(t *testing.T) {
	head := "User-agent: *\nDisallow: /first\n"
	tail := "Disallow: /last" // no trailing newline: the file ends here
	pad := robots.MaxBytes - len(head) - len(tail)
	body := head + strings.Repeat("#\n", pad/2) + strings.Repeat("\n", pad%2) + tail
	if len(body) != robots.MaxBytes {
		t.Fatalf("test body is %d bytes", len(body))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()

	r, err := robots.Fetch(t.Context(), httpGet(client), origin(t, srv.URL), "crawler")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, r, check{"/first", false}, check{"/last", false})
}

// httpGet is a Get built on net/http, as the crawler's fetcher would
// provide it.
func httpGet(c *http.Client) robots.Get {
	return func(ctx context.Context, u *url.URL, maxBytes int64) (int, *url.URL, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return 0, nil, nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes))
		if err != nil {
			return 0, nil, nil, err
		}
		loc, _ := resp.Location()
		return resp.StatusCode, loc, body, nil
	}
}

// Ensure Fetch works end to end over loopback HTTP: relative redirects, a
// 600 KB body read up to MaxBytes, and a 503.
func TestFetch_HTTP(t *testing.T) {
	big := "User-agent: *\nDisallow: /early\n" + strings.Repeat("# padding line\n", 600_000/15) + "Disallow: /late\n"
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/real-robots.txt", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/real-robots.txt", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, big)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	defer down.Close()

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()

	r, err := robots.Fetch(t.Context(), httpGet(client), origin(t, srv.URL), "crawler")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, r, check{"/early", false}, check{"/late", true})
	if r.Status() != 200 {
		t.Errorf("Status = %d", r.Status())
	}

	r, err = robots.Fetch(t.Context(), httpGet(client), origin(t, down.URL), "crawler")
	if err != nil || !r.Unreachable() || r.Status() != 503 || r.Allowed(origin(t, down.URL+"/x")) {
		t.Errorf("503: err=%v Unreachable=%v Status=%d", err, r.Unreachable(), r.Status())
	}
}

// Ensure FetchFile returns what Fetch parses: the final status, and the
// body of a 2xx cut as Parse reads it (nil for any other status), so a
// file kept and parsed again gives the rules Fetch gave, for any token.
func TestFetchFile(t *testing.T) {
	var big bytes.Buffer
	big.WriteString("User-agent: *\nDisallow: /early\n")
	for big.Len() < robots.MaxBytes-5 {
		big.WriteString("#\n")
	}
	big.WriteString("Disallow: /late\n")
	tokens := "User-agent: *\nDisallow: /private\n\nUser-agent: otherbot\nDisallow: /other\n"
	tests := []struct {
		name   string
		script map[string]hop
		status int
		body   string
	}{
		{"200", map[string]hop{"http://a.example/robots.txt": {status: 200, body: tokens}}, 200, tokens},
		{"404 with a body", map[string]hop{"http://a.example/robots.txt": {status: 404, body: disallowPrivate}}, 404, ""},
		{"503 with a body", map[string]hop{"http://a.example/robots.txt": {status: 503, body: disallowPrivate}}, 503, ""},
		{"redirected", redirectChain(3), 200, disallowPrivate},
		{"too many redirects", redirectChain(robots.MaxRedirects + 1), 301, ""},
		{"redirect to ftp", map[string]hop{"http://a.example/robots.txt": {status: 301, location: "ftp://a.example/robots.txt"}}, 301, ""},
		{"oversized", map[string]hop{"http://a.example/robots.txt": {status: 200, body: big.String()}}, 200,
			big.String()[:strings.LastIndexByte(big.String()[:robots.MaxBytes], '\n')+1]},
		{"network error", map[string]hop{"http://a.example/robots.txt": {err: errors.New("connection refused")}}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeGet{script: tt.script}
			status, body, err := robots.FetchFile(t.Context(), f.get, origin(t, "http://a.example"))
			if status != tt.status || string(body) != tt.body || (tt.body == "") != (body == nil) {
				t.Errorf("FetchFile = %d, %d bytes (err %v); want %d, %d bytes", status, len(body), err, tt.status, len(tt.body))
			}
			for _, token := range []string{"crawler", "otherbot"} {
				want, wantErr := robots.Fetch(t.Context(), (&fakeGet{script: tt.script}).get, origin(t, "http://a.example"), token)
				got := robots.FromStatus(status, body, token)
				if (err == nil) != (wantErr == nil) || got.Status() != want.Status() || got.Unreachable() != want.Unreachable() {
					t.Errorf("%s: FromStatus(FetchFile) status %d unreachable %v err %v; Fetch %d %v %v",
						token, got.Status(), got.Unreachable(), err, want.Status(), want.Unreachable(), wantErr)
				}
				for _, p := range []string{"/", "/private", "/other", "/early", "/late"} {
					u := &url.URL{Path: p}
					if got.Allowed(u) != want.Allowed(u) {
						t.Errorf("%s: %s allowed %v by the file parsed again, %v by Fetch", token, p, got.Allowed(u), want.Allowed(u))
					}
				}
			}
		})
	}
}

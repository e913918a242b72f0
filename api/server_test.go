package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"crawler/crawl"
	"crawler/frontier"
	"crawler/internal/urlnorm"
	"crawler/store"
)

// fakeQuerier answers from memory; only what the tests below need.
type fakeQuerier struct {
	Querier
	started chan struct{} // closed when ListPages has sent its first page
}

func (f *fakeQuerier) ListPages(ctx context.Context, _ PageFilter, fn func(*store.Page) error) error {
	if err := fn(&store.Page{URL: "http://a/"}); err != nil {
		return err
	}
	close(f.started)
	<-ctx.Done()
	return ctx.Err()
}

func (f *fakeQuerier) Stats(context.Context) (*Stats, error) {
	return nil, fmt.Errorf("stats: %w", store.ErrCorrupt)
}

func (f *fakeQuerier) GetPage(_ context.Context, url string, _ bool) (*store.Page, []byte, error) {
	return nil, nil, fmt.Errorf("page %s: %w", url, store.ErrNotFound)
}

func TestSocketFileModeAndLifecycle(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "crawler.sock")

	// A stale socket (its process died) is replaced.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}

	srv, err := Listen(path, &fakeQuerier{}, ServerOptions{Logger: quiet})
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v; want a socket with 0600", fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries after Listen; want only the socket", len(entries))
	}
	c := NewClient(path, ClientOptions{})
	defer c.Close()
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("ping: %v", err)
	}

	// A live socket is not taken over.
	if _, err := Listen(path, &fakeQuerier{}, ServerOptions{Logger: quiet}); !errors.Is(err, ErrSocketInUse) {
		t.Errorf("second Listen: %v; want ErrSocketInUse", err)
	}
	if err := c.Ping(context.Background()); err != nil {
		t.Errorf("first server lost its socket: %v", err)
	}

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket left after Close: %v", err)
	}
	if err := c.Ping(context.Background()); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("ping after Close: %v; want ErrNoDaemon", err)
	}

	// Something that is not a socket is never removed.
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path, &fakeQuerier{}, ServerOptions{Logger: quiet}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen over a regular file: %v", err)
	}
	long := filepath.Join(dir, strings.Repeat("x", 120))
	if _, err := Listen(long, &fakeQuerier{}, ServerOptions{Logger: quiet}); err == nil || !strings.Contains(err.Error(), "api.socket") {
		t.Errorf("Listen on a too long path: %v", err)
	}
}

func TestClientWithoutDaemon(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"), ClientOptions{})
	defer c.Close()
	if _, err := c.Stats(context.Background()); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("Stats: %v; want ErrNoDaemon", err)
	}
	if err := c.Hosts(context.Background(), nil); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("Hosts: %v; want ErrNoDaemon", err)
	}
}

// Errors keep their sentinel and message across the socket.
func TestErrorsCrossTheSocket(t *testing.T) {
	c := serve(t, &fakeQuerier{})
	_, err := c.Stats(context.Background())
	if !errors.Is(err, store.ErrCorrupt) || err.Error() != "stats: "+store.ErrCorrupt.Error() {
		t.Errorf("Stats: %v; want the daemon's ErrCorrupt", err)
	}
	_, _, err = c.GetPage(context.Background(), "http://x/", false)
	if !errors.Is(err, store.ErrNotFound) || err.Error() != "page http://x/: not found" {
		t.Errorf("GetPage: %v; want the daemon's ErrNotFound", err)
	}
	if err := c.call(context.Background(), http.MethodGet, "/v1/pages?limit=x", nil, nil, new(any)); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad limit: %v; want ErrInvalid", err)
	}
	if err := c.call(context.Background(), http.MethodGet, "/v1/nothing", nil, nil, new(any)); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown endpoint: %v; want ErrInvalid", err)
	}
}

// A stream that ends without its end line is an error, never a short
// answer taken for a whole one.
func TestStreamCutShort(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cut.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, `{"page":{"url":"http://a/"}}`)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	c := NewClient(path, ClientOptions{})
	defer c.Close()
	n := 0
	err = c.ListPages(context.Background(), PageFilter{}, func(*store.Page) error { n++; return nil })
	if !errors.Is(err, ErrProtocol) || n != 1 {
		t.Errorf("cut stream: %d pages, %v; want 1 then ErrProtocol", n, err)
	}
}

// Close cancels a stream in progress instead of waiting for it, and the
// stream ends with an error that says why.
func TestCloseCancelsStreams(t *testing.T) {
	f := &fakeQuerier{started: make(chan struct{})}
	path := filepath.Join(t.TempDir(), "s.sock")
	srv, err := Listen(path, f, ServerOptions{Logger: quiet, ShutdownTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(path, ClientOptions{})
	defer c.Close()
	got := make(chan error, 1)
	go func() { got <- c.ListPages(context.Background(), PageFilter{}, func(*store.Page) error { return nil }) }()
	<-f.started
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	// The client can tell it from a cancel of its own: the daemon says
	// it is stopping.
	if err := <-got; !errors.Is(err, ErrStopping) || errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("stream cancelled by Close: %v; want ErrStopping saying the answer is incomplete", err)
	}
}

// A daemon that accepts a request and never answers cannot hang a
// single-answer call: it fails with ErrNoAnswer after CallTimeout. A
// caller's own deadline wins over CallTimeout, and streams are not bounded
// by it.
func TestCallTimeoutOnAStuckDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stuck.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/pages" {
			time.Sleep(300 * time.Millisecond) // a long scan before the first line
			fmt.Fprintln(w, `{"end":true}`)
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	defer close(release)

	c := NewClient(path, ClientOptions{CallTimeout: 100 * time.Millisecond})
	defer c.Close()
	if _, err := c.Stats(context.Background()); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("Stats on a stuck daemon: %v; want ErrNoAnswer", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Stats(ctx); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNoAnswer) {
		t.Errorf("Stats with the caller's deadline: %v; want the caller's DeadlineExceeded", err)
	}
	if err := c.ListPages(context.Background(), PageFilter{}, func(*store.Page) error { return nil }); err != nil {
		t.Errorf("a stream slower than CallTimeout: %v; want no bound on streams", err)
	}
}

// listQuerier takes seeds, recrawls, pauses and resumes, and records how
// many items each request brought.
type listQuerier struct {
	Querier
	mu    sync.Mutex
	sizes []int
}

func (q *listQuerier) took(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sizes = append(q.sizes, n)
}

func (q *listQuerier) Seed(_ context.Context, urls []string) (int, error) {
	q.took(len(urls))
	return len(urls), nil
}

func (q *listQuerier) Recrawl(_ context.Context, urls []string) (crawl.RecrawlResult, error) {
	q.took(len(urls))
	return crawl.RecrawlResult{Queued: len(urls)}, nil
}

func (q *listQuerier) Pause(_ context.Context, hosts []string, until time.Time) ([]frontier.Hold, error) {
	q.took(len(hosts))
	holds := make([]frontier.Hold, len(hosts))
	for i, h := range hosts {
		holds[i] = frontier.Hold{Host: h, Until: until}
	}
	return holds, nil
}

func (q *listQuerier) Resume(_ context.Context, hosts []string) (int, error) {
	q.took(len(hosts))
	return len(hosts), nil
}

// A batch of seeds as the CLI sends it (10,000 URLs) goes over the socket
// whatever their length: JSON writes "&" as "\u0026", so URLs with long
// queries grow by a third, and 10,000 of 1,300 bytes used to go over the
// daemon's limit on a request. The client sends such a list in several
// requests; the same for recrawl, pause and resume.
func TestSeedBatchOverSocket(t *testing.T) {
	q := &listQuerier{}
	c := serve(t, q)
	ctx := context.Background()
	// 200 URLs of 3,528 bytes, nearly all "&" (which JSON writes as
	// "\u0026"), take 4.1 MiB of JSON: two requests. Before the client
	// split by bytes, a CLI batch of 10,000 URLs of 1,300 bytes with long
	// queries went over the daemon's 16 MiB limit in one.
	urls := make([]string, 200)
	for i := range urls {
		urls[i] = fmt.Sprintf("https://example.com/p/%05d?", i) + strings.Repeat("&", 3500)
	}
	if n, err := c.Seed(ctx, urls); err != nil || n != len(urls) || len(q.sizes) != 2 {
		t.Fatalf("Seed of 200 long URLs over the socket: added %d, %v, requests of %v; want all in two", n, err, q.sizes)
	}
	// However short the items, one request carries at most 10,000.
	hosts := make([]string, 25_000)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("h%d.example", i)
	}
	q.sizes = nil
	if holds, err := c.Pause(ctx, hosts, time.Time{}); err != nil || len(holds) != len(hosts) {
		t.Errorf("Pause of %d hosts: %d holds, %v", len(hosts), len(holds), err)
	}
	if n, err := c.Resume(ctx, hosts); err != nil || n != len(hosts) {
		t.Errorf("Resume of %d hosts: %d lifted, %v", len(hosts), n, err)
	}
	if want := "[10000 10000 5000 10000 10000 5000]"; fmt.Sprint(q.sizes) != want {
		t.Errorf("pause and resume of %d hosts went in requests of %v; want %s", len(hosts), q.sizes, want)
	}
}

// The longest URL the crawler takes, made of the character JSON writes
// longest, fits one request with room to spare, and goes over the socket.
func TestLongestURLOverSocket(t *testing.T) {
	const base = "https://example.com/?"
	longest := base + strings.Repeat("&", urlnorm.MaxLength-len(base))
	if _, err := canonicalURL(longest); err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(seedRequest{URLs: []string{longest}})
	if err != nil {
		t.Fatal(err)
	}
	// A byte of a URL takes at most six in JSON (\u0026, or \ufffd for
	// a byte that is not UTF-8).
	if worst := 6*urlnorm.MaxLength + len(`{"urls":[""]}`); len(body) > worst || worst > maxListBytes || maxListBytes >= maxSeedRequest/2 {
		t.Errorf("one URL of %d bytes: %d bytes of JSON, at worst %d; the client sends up to %d a request, the daemon reads %d",
			len(longest), len(body), worst, maxListBytes, maxSeedRequest)
	}
	c := serve(t, &listQuerier{})
	if n, err := c.Seed(context.Background(), []string{longest}); err != nil || n != 1 {
		t.Errorf("Seed of the longest URL: %d, %v", n, err)
	}
}

// A URL that is not crawlable anywhere in a list sent in several requests
// adds nothing: the client checks them all before the first request.
func TestSeedInvalidInALaterRequest(t *testing.T) {
	q := &listQuerier{}
	c := serve(t, q)
	urls := make([]string, 15_000)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://a.example/%d", i)
	}
	urls[12_345] = "ftp://a.example/"
	if n, err := c.Seed(context.Background(), urls); !errors.Is(err, ErrInvalid) || n != 0 || len(q.sizes) != 0 {
		t.Errorf("Seed with an invalid URL in its second request: added %d, %v, requests %v; want ErrInvalid and none sent", n, err, q.sizes)
	}
	hosts := make([]string, len(urls))
	for i := range hosts {
		hosts[i] = fmt.Sprintf("h%d.example", i)
	}
	hosts[12_345] = "not a host"
	if _, err := c.Pause(context.Background(), hosts, time.Time{}); !errors.Is(err, ErrInvalid) || len(q.sizes) != 0 {
		t.Errorf("Pause with a bad host in its second request: %v, requests %v; want ErrInvalid and none sent", err, q.sizes)
	}
}

// A body over the daemon's limit is not an invalid request (a usage error
// for the CLI) but its own error, saying so.
func TestRequestTooLarge(t *testing.T) {
	c := serve(t, &listQuerier{})
	body := []byte(`{"urls":["` + strings.Repeat("x", maxSeedRequest) + `"]}`)
	err := c.call(context.Background(), http.MethodPost, "/v1/seed", nil, body, new(seedAnswer))
	if !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "16 MiB") {
		t.Errorf("a seed request over the limit: %v; want ErrTooLarge naming the limit", err)
	}
}

// CheckSocketPath refuses a path a unix socket address cannot hold, and
// one whose temporary sibling directory (where Listen creates it first)
// it cannot hold, at the byte that matters; Listen refuses the same.
func TestCheckSocketPath(t *testing.T) {
	dir90 := "/" + strings.Repeat("d", 89)
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/tmp/" + strings.Repeat("s", 102), true},  // 107 bytes
		{"/tmp/" + strings.Repeat("s", 103), false}, // 108
		{dir90[:89] + "/x.sock", true},              // its temporary path is 107
		{dir90 + "/x.sock", false},                  // 108
	} {
		err := CheckSocketPath(tc.path)
		if (err == nil) != tc.ok {
			t.Errorf("CheckSocketPath(%d bytes in a %d-byte dir) = %v; want ok %v", len(tc.path), len(filepath.Dir(tc.path)), err, tc.ok)
		}
		if !tc.ok {
			if _, lerr := Listen(tc.path, nil, ServerOptions{}); lerr == nil || lerr.Error() != err.Error() {
				t.Errorf("Listen(%d bytes) = %v; want %v", len(tc.path), lerr, err)
			}
		}
	}
}

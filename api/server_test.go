package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// Close cancels a stream in progress instead of waiting for it.
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
	if err := <-got; err == nil {
		t.Error("stream cancelled by Close ended without an error")
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

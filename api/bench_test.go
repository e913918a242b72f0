package api

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crawler/store"
)

// BenchmarkPageGet measures `crawler pages get` on a store of 100k pages,
// built directly with store.Update: the lookup on an open store, with and
// without the body, over the daemon's socket, and the whole stopped-crawl
// path (open the file read-only, look up, close).
func BenchmarkPageGet(b *testing.B) {
	const pages = 100_000
	path, body, url := benchStore(b, pages)
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	get := func(b *testing.B, q Querier, withBody bool) {
		i := 0
		for b.Loop() {
			i = (i + 7919) % pages
			p, got, err := q.GetPage(ctx, url(i), withBody)
			if err != nil || p.Status != 200 || withBody && len(got) != len(body) {
				b.Fatalf("GetPage: %v", err)
			}
		}
	}
	local := NewLocal(db, nil)
	b.Run("local", func(b *testing.B) { get(b, local, false) })
	b.Run("local+body", func(b *testing.B) { get(b, local, true) })
	b.Run("socket", func(b *testing.B) { get(b, benchClient(b, local), true) })
	db.Close()
	b.Run("open+get", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i = (i + 7919) % pages
			ro, err := store.Open(path, store.Options{ReadOnly: true, Timeout: 500 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := NewLocal(ro, nil).GetPage(ctx, url(i), true); err != nil {
				b.Fatal(err)
			}
			ro.Close()
		}
	})
}

// benchStore writes n pages (records and bodies) with store.Update and
// returns the file, the body every page has, and the URL of page i.
func benchStore(b *testing.B, pages int) (string, []byte, func(int) string) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "crawl.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte("<html><head><title>t</title></head><body>" + strings.Repeat("lorem ipsum dolor sit amet ", 80) + "</body></html>")
	compressed := db.CompressBody(body)
	url := func(i int) string { return fmt.Sprintf("http://host%d.example/p/%d", i%100, i) }
	now := time.Now()
	for start := 0; start < pages; start += 10_000 {
		err := db.Update(func(tx *store.Tx) error {
			for i := start; i < start+10_000; i++ {
				p := &store.Page{
					URL: url(i), Host: fmt.Sprintf("host%d.example", i%100), Status: 200,
					ContentType: "text/html", Title: fmt.Sprintf("page %d", i), FetchedAt: now,
					BodyBytes: int64(len(body)), Header: http.Header{"Content-Type": {"text/html"}},
				}
				if err := tx.PutPage(p); err != nil {
					return err
				}
				if err := tx.PutBody(p.URL, compressed); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	return path, body, url
}

// BenchmarkListPages measures streaming 100k page records, directly and
// over the socket (ns/op is per page).
func BenchmarkListPages(b *testing.B) {
	const pages = 100_000
	path, _, _ := benchStore(b, pages)
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	local := NewLocal(db, nil)
	list := func(b *testing.B, q Querier) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			err := q.ListPages(context.Background(), PageFilter{Limit: pages}, func(*store.Page) error {
				n++
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/page")
	}
	b.Run("local", func(b *testing.B) { list(b, local) })
	b.Run("socket", func(b *testing.B) { list(b, benchClient(b, local)) })
}

// benchClient serves q on a unix socket and returns a client of it, both
// closed at cleanup.
func benchClient(b *testing.B, q Querier) *Client {
	b.Helper()
	sock := filepath.Join(b.TempDir(), "b.sock")
	srv, err := Listen(sock, q, ServerOptions{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	c := NewClient(sock, ClientOptions{})
	b.Cleanup(func() {
		c.Close()
		srv.Close()
	})
	return c
}

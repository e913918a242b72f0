package api

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crawler/store"
)

// --host with an explicit port selects that port: the scheme's default
// port is the one a canonical URL leaves out, so "h:443" is https://h/
// (not http://h:443/ only) and "h:80" is http://h/ (not https://h/ too).
func TestListPagesHostWithDefaultPort(t *testing.T) {
	l := NewLocal(storePages(t, "http://example.com/a", "https://example.com/b", "http://example.com:8080/c", "https://example.com:8443/d",
		"http://example.com:443/e", "https://example.com:80/f"), nil)
	for host, want := range map[string]string{
		"example.com":      "http://example.com/a https://example.com/b",
		"example.com:443":  "http://example.com:443/e https://example.com/b",
		"example.com:80":   "http://example.com/a https://example.com:80/f",
		"EXAMPLE.com:8443": "https://example.com:8443/d",
	} {
		var got []string
		err := l.ListPages(context.Background(), PageFilter{Host: host}, func(p *store.Page) error {
			got = append(got, p.URL)
			return nil
		})
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("--host %s: %q, %v; want %q", host, got, err, want)
		}
	}
}

// A prefix whose host ends at "?" selects the URLs of that query on the
// path "/", which every stored URL without a path has.
func TestListPagesPrefixWithQuery(t *testing.T) {
	l := NewLocal(storePages(t, "https://example.com/", "https://example.com/?q=1", "https://example.com/a?q=2"), nil)
	for _, prefix := range []string{"https://example.com?q", "https://Example.com:443?q", "https://example.com/?q"} {
		var got []string
		err := l.ListPages(context.Background(), PageFilter{Prefix: prefix}, func(p *store.Page) error {
			got = append(got, p.URL)
			return nil
		})
		if err != nil || strings.Join(got, " ") != "https://example.com/?q=1" {
			t.Errorf("--prefix %s: %q, %v; want https://example.com/?q=1", prefix, got, err)
		}
	}
}

// storePages returns a store holding a page record for each of urls.
func storePages(t *testing.T, urls ...string) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "crawl.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	err = db.Update(func(tx *store.Tx) error {
		for _, u := range urls {
			if err := tx.PutPage(&store.Page{URL: u, Status: 200, FetchedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

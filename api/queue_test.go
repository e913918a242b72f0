package api

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"crawler/config"
	"crawler/frontier"
	"crawler/store"
)

// queuedStore is a stopped crawl with n URLs queued on each of two hosts
// and nothing fetched.
func queuedStore(t *testing.T, n int) (*store.DB, *config.Config) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	db, err := store.Open(filepath.Join(cfg.DataDir, "crawl.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q, err := frontier.Open(db, frontier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var links []frontier.Link
	for _, h := range []string{"b.test", "a.test:8080"} {
		for i := range n {
			links = append(links, frontier.Link{URL: fmt.Sprintf("http://%s/p/%d", h, i), Host: h, Parent: "http://" + h + "/", Depth: 1})
		}
	}
	if _, err := q.Add(context.Background(), links); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	return db, cfg
}

// Queue lists every queued URL in fetch order, over more than one
// transaction's batch, the same on both paths; a host filter and a limit
// narrow it; a bad host is ErrInvalid.
func TestQueueListing(t *testing.T) {
	const n = batchPages + 20
	db, cfg := queuedStore(t, n)
	local := NewLocal(db, cfg)
	list := func(q Querier, f QueueFilter) ([]string, error) {
		var urls []string
		err := q.Queue(context.Background(), f, func(u *frontier.QueuedURL) error {
			if u.InFlight || u.Depth != 1 || u.Parent == "" {
				t.Errorf("%+v: want queued at depth 1 with its parent", u)
			}
			urls = append(urls, u.URL)
			return nil
		})
		return urls, err
	}
	var want []string
	for _, h := range []string{"a.test:8080", "b.test"} {
		for i := range n {
			want = append(want, fmt.Sprintf("http://%s/p/%d", h, i))
		}
	}
	for name, q := range map[string]Querier{"local": local, "socket": serve(t, local)} {
		got, err := list(q, QueueFilter{})
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: %d URLs, %v; want %d in fetch order", name, len(got), err, len(want))
		}
		got, err = list(q, QueueFilter{Host: "B.test", Limit: 3})
		if err != nil || !slices.Equal(got, want[n:n+3]) {
			t.Errorf("%s: host B.test, limit 3: %q, %v; want %q", name, got, err, want[n:n+3])
		}
		if got, err = list(q, QueueFilter{Host: "a.test:8080", Limit: n + 5}); err != nil || len(got) != n {
			t.Errorf("%s: host a.test:8080: %d URLs, %v; want %d", name, len(got), err, n)
		}
		if _, err := list(q, QueueFilter{Host: "a.test/x"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: bad host: %v; want ErrInvalid", name, err)
		}
	}
}

// GetPage finds a page asked for with the query parameters the crawl
// strips (scope.strip_query_params), on both paths; a URL stored with
// them is found as given.
func TestGetPageStripsLikeTheCrawl(t *testing.T) {
	db, cfg := queuedStore(t, 0)
	cfg.Scope.StripQueryParams = []string{"utm_*"}
	err := db.Update(func(tx *store.Tx) error {
		for _, u := range []string{"http://a.test/x", "http://a.test/y?utm_source=seed"} {
			if err := tx.PutPage(&store.Page{URL: u, Status: 200, Title: u}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	local := NewLocal(db, cfg)
	for name, q := range map[string]Querier{"local": local, "socket": serve(t, local)} {
		for ask, want := range map[string]string{
			"http://a.test/x?utm_source=news&utm_medium=mail": "http://a.test/x",
			"http://a.test/y?utm_source=seed":                 "http://a.test/y?utm_source=seed",
		} {
			if p, _, err := q.GetPage(context.Background(), ask, false); err != nil || p.URL != want {
				t.Errorf("%s: GetPage(%s) = %v, %v; want %s", name, ask, p, err, want)
			}
		}
		if _, _, err := q.GetPage(context.Background(), "http://a.test/x?id=1", false); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: GetPage with a parameter the crawl keeps: %v; want not found", name, err)
		}
	}
}

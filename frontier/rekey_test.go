package frontier

import (
	"context"
	"net/url"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"crawler/internal/urlnorm"
	"crawler/store"
)

// hostKeyBy returns the HostKey of a politeness key mode.
func hostKeyBy(mode string) func(string) string {
	return func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			return ""
		}
		return urlnorm.PolitenessKey(mode, urlnorm.Host(u))
	}
}

// Opening a file keyed by host with another key mode moves every queued,
// retrying and recrawl entry under its new key, a chunk per transaction,
// with the per-host queued totals; the frontier check agrees, the URLs
// come out under their new keys, and opening again in the same mode, or
// back in the old one, does what it should.
func TestRekeyOnModeChange(t *testing.T) {
	defer func(n int) { rekeyChunk = n }(rekeyChunk)
	rekeyChunk = 2
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, q := openTest(t, path, Options{PerHostConcurrency: 1})
	ctx := context.Background()
	var links []Link
	for _, h := range []string{"www.a.test", "docs.a.test", "a.test:8080", "b.test"} {
		for i := range 3 {
			links = append(links, link(h, i))
		}
	}
	if _, err := q.Add(ctx, links); err != nil {
		t.Fatal(err)
	}
	// One retry waiting, one done page due for recrawl.
	retried, done := next(t, q), next(t, q)
	commitWait(t, q, &Completion{Item: retried, RetryAt: time.Now().Add(time.Hour)})
	commitDone(t, q, done, time.Now().Add(time.Hour))
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db)

	reopen := func(mode string) *Queue {
		t.Helper()
		q, err := Open(db, Options{PerHostConcurrency: 1, KeyMode: mode, HostKey: hostKeyBy(mode)})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	keys := func() (queue, timed []string) {
		t.Helper()
		err := db.View(func(tx *store.Tx) error {
			qc := newQueueCursor(tx.Bolt())
			for k, _, err := qc.first(); k != nil; k, _, err = qc.next() {
				if err != nil {
					t.Errorf("queue entry %x: %v", k, err)
				}
				queue = append(queue, hostOfKey(k))
			}
			for _, b := range [][]byte{bucketDelayed, bucketRecrawl} {
				_ = tx.Bolt().Bucket(b).ForEach(func(_, v []byte) error {
					h, _, err := unmarshalTimed(v)
					if err != nil {
						t.Errorf("timed entry: %v", err)
					}
					timed = append(timed, h)
					return nil
				})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(queue)
		sort.Strings(timed)
		return queue, timed
	}

	q = reopen(urlnorm.ByDomain)
	queue, timed := keys()
	for _, h := range append(queue, timed...) {
		if h != "a.test" && h != "b.test" {
			t.Errorf("after re-keying by domain, an entry is still under %q", h)
		}
	}
	if len(queue) != 10 || len(timed) != 2 {
		t.Errorf("%d queued and %d timed entries; want 10 and 2", len(queue), len(timed))
	}
	if c := q.Counts(); c.Queued != 11 || c.Hosts != 2 {
		t.Errorf("counts after re-keying: %+v; want 11 queued over 2 keys", c)
	}
	it := next(t, q)
	if it.Host != "a.test" && it.Host != "b.test" {
		t.Errorf("item %s under key %q", it.URL, it.Host)
	}
	q.Requeue(it, time.Time{})
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db)

	q = reopen(urlnorm.ByDomain) // nothing to do
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q = reopen(urlnorm.ByHost) // and back
	queue, timed = keys()
	hosts := map[string]bool{"www.a.test": true, "docs.a.test": true, "a.test:8080": true, "b.test": true}
	for _, h := range append(queue, timed...) {
		if !hosts[h] {
			t.Errorf("after re-keying by host, an entry is under %q", h)
		}
	}
	if len(queue) != 10 || len(timed) != 2 {
		t.Errorf("%d queued and %d timed entries; want 10 and 2", len(queue), len(timed))
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db)
}

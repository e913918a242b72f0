package frontier

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"crawler/store"
)

// spread returns one link on each of n hosts (s0 … s<n-1>), page i: a
// batch whose links reach more than stageFanout hosts, each sparse.
func spread(n, i int) []Link {
	links := make([]Link, n)
	for h := range n {
		links[h] = link(fmt.Sprintf("s%d", h), i)
	}
	return links
}

// stagedCount returns how many values the staged bucket holds.
func stagedCount(t testing.TB, db *store.DB) int {
	t.Helper()
	n := 0
	if err := db.View(func(tx *store.Tx) error { n = stagedKeys(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// stagedKeys returns how many values the staged bucket of tx holds.
func stagedKeys(tx *store.Tx) int {
	if sb := tx.Bolt().Bucket(bucketStaged); sb != nil {
		return sb.Stats().KeyN
	}
	return 0
}

// snapshot copies the committed state of db to a new file, as a kill -9
// at this instant would leave it, and returns its path.
func snapshot(t *testing.T, db *store.DB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crash.db")
	if err := db.View(func(tx *store.Tx) error { return tx.Bolt().CopyFile(path, 0o600) }); err != nil {
		t.Fatal(err)
	}
	return path
}

// A batch reaching many hosts with a link or two each is staged, not
// inserted: yet its URLs are queued in every way a reader can see
// (counts, dedup, URLState, ReadQueue, Check), and the dispatcher,
// finding no host ready, has the writer merge them and hands them all out.
func TestStagedLinksAreQueued(t *testing.T) {
	db, q := openTest(t, "", Options{PerHostConcurrency: 1})
	ctx := context.Background()
	q.SetPaused(true)                                        // nothing asks for the staged URLs yet
	links := append(spread(stageFanout+1, 1), link("s0", 1)) // and a repeat in the batch
	n, err := q.Add(ctx, links)
	if err != nil || n != stageFanout+1 {
		t.Fatalf("Add = %d, %v; want %d new", n, err, stageFanout+1)
	}
	if got := stagedCount(t, db); got != stageFanout+1 {
		t.Fatalf("staged %d URLs; want %d", got, stageFanout+1)
	}
	if c := q.Counts(); c.Queued != int64(n) {
		t.Fatalf("Counts().Queued = %d; want %d", c.Queued, n)
	}
	if n, _ := q.Add(ctx, spread(stageFanout+1, 1)); n != 0 {
		t.Fatalf("Add of the staged URLs again = %d new; want 0", n)
	}
	err = db.View(func(tx *store.Tx) error {
		if st, err := URLState(tx, links[5].URL); err != nil || st != StateQueued {
			t.Errorf("URLState of a staged URL = %v, %v; want queued", st, err)
		}
		if err := Check(tx); err != nil {
			t.Errorf("Check with URLs staged: %v", err)
		}
		if c := ReadCounts(tx); c.Queued != int64(n) {
			t.Errorf("ReadCounts().Queued = %d; want %d", c.Queued, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, u := range readAll(t, db, "", 7) {
		listed = append(listed, u.URL)
	}
	if len(listed) != n || !slices.IsSortedFunc(listed, func(a, b string) int { return strings.Compare(hostOfURL(a), hostOfURL(b)) }) {
		t.Fatalf("ReadQueue listed %d URLs (%v); want %d in host order", len(listed), listed, n)
	}
	if got := readAll(t, db, "s3", 10); len(got) != 1 || got[0].URL != link("s3", 1).URL {
		t.Fatalf("ReadQueue of host s3 = %v; want its staged URL", got)
	}

	q.SetPaused(false)
	got := drain(t, q)
	if len(got) != n {
		t.Fatalf("handed out %d URLs; want %d", len(got), n)
	}
	if stagedCount(t, db) != 0 {
		t.Fatal("URLs still staged after the dispatcher asked for them")
	}
}

// hostOfURL returns the host of a test link's URL.
func hostOfURL(u string) string {
	host, _, _ := strings.Cut(strings.TrimPrefix(u, "http://"), "/")
	return host
}

// A staged URL keeps its place in its host's queue: the merge gives it the
// sequence number it was staged under, so the host's URLs come out in
// discovery order however they reached the disk.
func TestStagedURLKeepsItsPlace(t *testing.T) {
	db, q := openTest(t, "", Options{PerHostConcurrency: 1})
	ctx := context.Background()
	q.SetPaused(true)                                               // no merge before stageAge: nothing asks for the URLs
	if _, err := q.Add(ctx, spread(stageFanout+1, 1)); err != nil { // s0/p1 staged
		t.Fatal(err)
	}
	if _, err := q.Add(ctx, []Link{link("s0", 2), link("s0", 3)}); err != nil { // inserted
		t.Fatal(err)
	}
	var listed []string
	for _, u := range readAll(t, db, "s0", 10) {
		listed = append(listed, u.URL)
	}
	want := []string{link("s0", 1).URL, link("s0", 2).URL, link("s0", 3).URL}
	if !slices.Equal(listed, want) {
		t.Fatalf("ReadQueue(s0) = %v; want %v", listed, want)
	}
	if err := q.Close(); err != nil { // merges
		t.Fatal(err)
	}
	if stagedCount(t, db) != 0 {
		t.Fatal("Close left URLs staged")
	}
	listed = listed[:0]
	for _, u := range readAll(t, db, "s0", 10) {
		listed = append(listed, u.URL)
	}
	if !slices.Equal(listed, want) {
		t.Fatalf("after the merge, ReadQueue(s0) = %v; want %v", listed, want)
	}
}

// A crash with URLs staged loses none of them: Open merges them, and the
// counts, Check and the dispatcher agree.
func TestStagedURLsSurviveCrash(t *testing.T) {
	db, q := openTest(t, "", Options{})
	ctx := context.Background()
	q.SetPaused(true) // no merge before stageAge: nothing asks for the URLs
	var want []string
	for i := range 3 {
		links := spread(stageFanout*2, i)
		if _, err := q.Add(ctx, links); err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			want = append(want, l.URL)
		}
	}
	if stagedCount(t, db) != len(want) {
		t.Fatalf("staged %d; want %d", stagedCount(t, db), len(want))
	}
	path := snapshot(t, db)

	_, q2 := openTest(t, path, Options{})
	if c := q2.Counts(); c.Queued != int64(len(want)) {
		t.Fatalf("after the crash, Counts().Queued = %d; want %d", c.Queued, len(want))
	}
	got := drain(t, q2)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after the crash, handed out %d URLs; want the %d staged", len(got), len(want))
	}
}

// A merge cut short by a crash, after some chunks committed, resumes at
// Open from its mark; meanwhile readers and Check skip what was merged.
func TestMergeResumesFromItsMark(t *testing.T) {
	db, q := openTest(t, "", Options{})
	ctx := context.Background()
	q.SetPaused(true) // no merge before stageAge: nothing asks for the URLs
	links := spread(stageFanout*3, 1)
	if _, err := q.Add(ctx, links); err != nil {
		t.Fatal(err)
	}
	// The first chunk of a merge, as mergeStaged commits it.
	err := db.Update(func(tx *store.Tx) error {
		w := &txWriter{tx: tx, btx: tx.Bolt(), fx: &effects{hosts: make(map[string]*hostRecord), queued: make(map[string]int)}}
		w.seq = u64(w.btx.Bucket(bucketMeta).Get(keySeq))
		moved, err := w.moveStaged(mergeRange{0, 127}, false)
		if err != nil {
			return err
		}
		if len(moved) == 0 || len(moved) == len(links) {
			t.Errorf("the first half of the seen keys held %d of the %d staged URLs", len(moved), len(links))
		}
		return w.finish()
	})
	if err != nil {
		t.Fatal(err)
	}
	path := snapshot(t, db)
	err = db.View(func(tx *store.Tx) error {
		if err := Check(tx); err != nil {
			t.Errorf("Check halfway through a merge: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, db, "", 1000); len(got) != len(links) {
		t.Fatalf("halfway through a merge, ReadQueue lists %d URLs; want %d", len(got), len(links))
	}

	db2, q2 := openTest(t, path, Options{})
	if stagedCount(t, db2) != 0 {
		t.Fatal("Open left URLs staged")
	}
	if got := drain(t, q2); len(got) != len(links) {
		t.Fatalf("handed out %d URLs; want %d", len(got), len(links))
	}
	_ = q
}

// A staged value whose header does not decode is set aside at the merge,
// and uncounted from its host; the others are merged.
func TestDamagedStagedValueIsSetAside(t *testing.T) {
	db, q := openTest(t, "", Options{})
	ctx := context.Background()
	q.SetPaused(true) // no merge before stageAge: nothing asks for the URLs
	links := spread(stageFanout+1, 1)
	if _, err := q.Add(ctx, links); err != nil {
		t.Fatal(err)
	}
	err := db.Update(func(tx *store.Tx) error {
		b := tx.Bolt().Bucket(bucketStaged)
		k, v := b.Cursor().First()
		s, err := splitStaged(v)
		if err != nil {
			return err
		}
		bad := appendStaged(nil, s.key, 1<<40, s.host, s.raw) // a depth no link has
		return b.Put(k, bad)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *store.Tx) error {
		if err := Check(tx); err == nil {
			t.Error("Check found nothing wrong with a damaged staged value")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	path := snapshot(t, db)
	db2, q2 := openTest(t, path, Options{})
	if got := drain(t, q2); len(got) != len(links)-1 {
		t.Fatalf("handed out %d URLs; want %d", len(got), len(links)-1)
	}
	err = db2.View(func(tx *store.Tx) error {
		if n := tx.Bolt().Bucket(bucketAside).Stats().KeyN; n != 1 {
			t.Errorf("%d entries set aside; want 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = q
}

// Few hosts, or a dense host, are inserted directly: staging is for the
// sparse hosts of a transaction reaching many, and for hosts with a
// backlog of URLs to fetch, unless the transaction holds many of theirs.
func TestStageHosts(t *testing.T) {
	many := spread(stageFanout+1, 1)
	for i := range stageSparse {
		many = append(many, link("dense", i))
	}
	var sitemap []Link // a backlog, but too many links to stage
	for i := range stageDense {
		sitemap = append(sitemap, link("big", i))
	}
	drain := map[string]time.Duration{"s1": stageDrain, "s2": stageDrain - 1, "big": 10 * stageDrain}
	for _, c := range []struct {
		name  string
		links []Link
		want  []string // staged hosts, sorted
	}{
		{"few hosts", spread(stageFanout, 1), []string{"s1"}},
		{"many hosts", many, func() []string {
			var hs []string
			for h := range stageFanout + 1 {
				hs = append(hs, fmt.Sprintf("s%d", h))
			}
			slices.Sort(hs)
			return hs
		}()},
		{"dense host with a backlog", append(sitemap, link("s2", 1)), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for h := range stageHosts(linksPerHost([]*op{{links: c.links}}), func(h string) time.Duration { return drain[h] }) {
				got = append(got, h)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Fatalf("stageHosts = %v; want %v", got, c.want)
			}
		})
	}
}

// Links robots.txt disallows are staged whatever the number of hosts, and
// are disallowed for every reader until merged (counts, dedup, URLState,
// Check) while no queue lists them. They make no host ready, so a
// dispatcher with nothing to hand out does not have them merged; Open
// merges what a crash left, and a staged one that does not decode is set
// aside and uncounted.
func TestDisallowedLinksAreStaged(t *testing.T) {
	db, q := openTest(t, "", Options{})
	ctx := context.Background()
	var links []Link
	for i := range 20 {
		l := link("a", 100+i)
		l.Disallowed, l.Depth = true, 1
		links = append(links, l)
	}
	if n, err := q.Add(ctx, append(links, link("a", 1))); err != nil || n != len(links)+1 {
		t.Fatalf("Add = %d, %v; want %d new", n, err, len(links)+1)
	}
	if got := stagedCount(t, db); got != len(links) {
		t.Fatalf("staged %d; want the %d disallowed links", got, len(links))
	}
	if n, _ := q.Add(ctx, links); n != 0 {
		t.Fatalf("Add of the staged links again = %d new; want 0", n)
	}
	commitDone(t, q, next(t, q), time.Time{})
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if it, err := q.Next(short); err == nil {
		t.Fatalf("Next handed out %s; want nothing (only disallowed links left)", it.URL)
	}
	if got := stagedCount(t, db); got != len(links) {
		t.Fatalf("with nothing to hand out, %d links still staged; want %d (no merge for them)", got, len(links))
	}
	check := func(db *store.DB, what string, disallowed int) {
		t.Helper()
		err := db.View(func(tx *store.Tx) error {
			if c := ReadCounts(tx); c.Disallowed != int64(disallowed) || c.Queued != 0 || c.Done != 1 {
				t.Errorf("%s: counts %+v; want %d disallowed, 1 done", what, c, disallowed)
			}
			if st, err := URLState(tx, links[3].URL); err != nil || st != StateDisallowed {
				t.Errorf("%s: URLState = %v, %v; want disallowed", what, st, err)
			}
			return ReadHosts(tx, func(h *HostInfo) error {
				if h.Disallowed != int64(disallowed) {
					t.Errorf("%s: host %s has %d disallowed; want %d", what, h.Host, h.Disallowed, disallowed)
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		mustCheck(t, db)
		if got := readAll(t, db, "", 100); len(got) != 0 {
			t.Errorf("%s: ReadQueue lists %d URLs; want none", what, len(got))
		}
	}
	check(db, "staged", len(links))

	db2, _ := openTest(t, snapshot(t, db), Options{})
	if stagedCount(t, db2) != 0 {
		t.Fatal("Open left links staged")
	}
	check(db2, "merged at Open", len(links))

	// One that does not decode: set aside at Open, its host's count
	// and the crawl's one less.
	err := db.Update(func(tx *store.Tx) error {
		b := tx.Bolt().Bucket(bucketStaged)
		k, v := b.Cursor().First()
		s, err := splitStaged(v)
		if err != nil || !s.disallowed() {
			t.Fatalf("first staged value %q: %v; want a disallowed link", v, err)
		}
		return b.Put(k, appendStaged(nil, s.key, 1<<40, s.host, s.raw)) // a depth no link has
	})
	if err != nil {
		t.Fatal(err)
	}
	db3, _ := openTest(t, snapshot(t, db), Options{})
	err = db3.View(func(tx *store.Tx) error {
		if c := ReadCounts(tx); c.Disallowed != int64(len(links)-1) {
			t.Errorf("after a damaged link was set aside: %d disallowed; want %d", c.Disallowed, len(links)-1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A host whose queue holds stageDrain's worth of URLs at the pace it
// hands them out has its new links staged, whatever the number of hosts;
// they keep their place after the backlog, and the host, once through
// it, gets them (the dispatcher has the writer merge). A host whose pace
// is not known yet has them inserted.
func TestBacklogLinksAreStaged(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	db, q := openTest(t, "", Options{PerHostConcurrency: 1, Now: clock.Now})
	ctx := context.Background()
	var want []string
	add := func(from, to int) {
		t.Helper()
		var links []Link
		for i := from; i < to; i++ {
			links = append(links, link("a", i))
			want = append(want, link("a", i).URL)
		}
		if n, err := q.Add(ctx, links); err != nil || n != len(links) {
			t.Fatalf("Add = %d, %v; want %d new", n, err, len(links))
		}
	}
	// The dispatcher picks the host's next URL as soon as its slot is
	// free: the clock moves before the slot is given back, so that each
	// pick is 10 s after the one before.
	var got []string
	take := func() {
		t.Helper()
		it := next(t, q)
		got = append(got, it.URL)
		clock.advance(10 * time.Second)
		q.Release(it, clock.Now())
		done := make(chan struct{})
		if err := q.Commit(ctx, &Completion{Item: it, State: StateDone, Done: func() { close(done) }}); err != nil {
			t.Fatal(err)
		}
		<-done
	}
	add(0, 40)
	add(40, 45)
	if n := stagedCount(t, db); n != 0 {
		t.Fatalf("staged %d links of a host whose pace is not known; want none", n)
	}
	take()
	take() // three picks 10 s apart: a URL every 1.25 s at least, 42 left
	add(45, 50)
	if n := stagedCount(t, db); n != 5 {
		t.Fatalf("staged %d links of a host with more than %v of URLs; want 5", n, stageDrain)
	}
	for len(got) < len(want) {
		take()
	}
	if !slices.Equal(got, want) {
		t.Fatalf("handed out %d URLs %v; want the %d in the order added", len(got), got, len(want))
	}
}

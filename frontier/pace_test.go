package frontier

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// A host's pace outlives a restart: a delay the crawl set (an adaptive
// slowdown, a Crawl-delay) holds its first start for that delay after
// Open, and a pause (a Retry-After, a circuit breaker) holds it until the
// pause ends, also for a host first seen after the restart and for a pause
// set after the host's last commit (Close writes it). A delay set back to
// the base keeps nothing, and RestoredPaces reports what the file held for
// the hosts with work or a pause.
func TestRestartKeepsPace(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	path := filepath.Join(t.TempDir(), "crawl.db")
	opts := Options{PerHostConcurrency: 1, Now: clock.Now}
	db, q := openTest(t, path, opts)
	ctx := context.Background()
	var links []Link
	for _, h := range []string{"slow", "paused", "quick"} {
		links = append(links, link(h, 1), link(h, 2))
	}
	if _, err := q.Add(ctx, append(links, link("later", 1), link("gone", 1))); err != nil {
		t.Fatal(err)
	}
	pauseEnd := clock.Now().Add(time.Hour)
	for range 5 {
		it := next(t, q)
		switch it.Host {
		case "slow", "gone": // gone has nothing left: RestoredPaces leaves it out
			q.SetDelay(it.Host, 10*time.Minute)
		case "paused":
			q.Pause("paused", pauseEnd)
		case "quick":
			q.SetDelay("quick", 10*time.Minute)
			q.SetDelay("quick", 0) // back to the base: nothing to keep
		}
		finish(t, q, it)
	}
	q.Pause("later", pauseEnd) // after its last commit: Close writes it

	clock.advance(time.Minute)
	q = reopen(t, db, q, opts)
	got := q.RestoredPaces()
	want := map[string]Pace{"slow": {Delay: 10 * time.Minute}, "paused": {Until: pauseEnd}, "later": {Until: pauseEnd}}
	if len(got) != len(want) {
		t.Errorf("RestoredPaces() = %v; want %v", got, want)
	}
	for h, p := range want {
		if g := got[h]; g.Delay != p.Delay || !g.Until.Equal(p.Until) {
			t.Errorf("RestoredPaces()[%s] = %+v; want %+v", h, g, p)
		}
	}
	if hosts := nextHosts(t, q, 1); hosts[0] != "quick" {
		t.Fatalf("after a restart released %v first; want quick's URL", hosts)
	}
	if _, err := q.Add(ctx, []Link{link("later", 2)}); err != nil {
		t.Fatal(err)
	}
	if it := nextWithin(t, q, 300*time.Millisecond); it != nil {
		t.Fatalf("released %s before its host's pace allowed", it.URL)
	}
	if got := q.Live()["slow"].Delay; got != (10 * time.Minute).String() {
		t.Errorf("slow's delay after the restart = %s; want 10m0s", got)
	}

	clock.advance(10 * time.Minute) // Open + slow's delay
	q.wakeForTest()
	if hosts := nextHosts(t, q, 1); hosts[0] != "slow" {
		t.Fatalf("once its delay passed released %v; want slow's URL", hosts)
	}
	if it := nextWithin(t, q, 300*time.Millisecond); it != nil {
		t.Fatalf("released %s before its host's pause ended", it.URL)
	}
	clock.advance(time.Hour)
	q.wakeForTest()
	if hosts := nextHosts(t, q, 2); hosts[0] != "later" || hosts[1] != "paused" {
		t.Fatalf("once the pauses ended released %v; want later's and paused's URLs", hosts)
	}

	// A pause that has ended is not kept.
	q = reopen(t, db, q, opts)
	for h, p := range q.RestoredPaces() {
		if !p.Until.IsZero() {
			t.Errorf("after the pauses ended, RestoredPaces()[%s] = %+v; want no pause", h, p)
		}
	}
}

// A host record keeps its totals' encoding when it has no pace (records
// written before paces were kept read as having none), and a pace
// round-trips.
func TestHostRecordPace(t *testing.T) {
	totals := hostRecord{Queued: 3, Done: 300, Failed: 2, Disallowed: 1, Enqueued: 306}
	old := totals.marshal()
	if r := unmarshalHostRecord(old); r != totals {
		t.Fatalf("round trip without a pace: %+v; want %+v", r, totals)
	}
	paced := totals
	paced.Delay, paced.PausedUntil = int64(3*time.Second), time.Unix(2_000_000, 5).UnixNano()
	b := paced.marshal()
	if len(b) <= len(old) {
		t.Errorf("a record with a pace encodes in %d bytes, without in %d", len(b), len(old))
	}
	if r := unmarshalHostRecord(b); r != paced {
		t.Errorf("round trip with a pace: %+v; want %+v", r, paced)
	}
	now := time.Unix(2_000_000, 0)
	if p := paced.pace(now); p.Delay != 3*time.Second || !p.Until.Equal(time.Unix(2_000_000, 5)) {
		t.Errorf("pace at %v = %+v", now, p)
	}
	if p := paced.pace(now.Add(time.Second)); !p.Until.IsZero() {
		t.Errorf("pace after the pause = %+v; want no pause", p)
	}

	r := paced
	paceChange{until: time.Unix(1_000, 0)}.apply(&r, now) // an earlier pause does not shorten it
	if r.PausedUntil != paced.PausedUntil || r.Delay != paced.Delay {
		t.Errorf("after an earlier pause: %+v", r)
	}
	paceChange{setDelay: true}.apply(&r, now.Add(time.Second)) // back to the base, the pause over
	if r != totals {
		t.Errorf("after the delay went back to the base and the pause ended: %+v; want %+v", r, totals)
	}
}

// wakeForTest makes the dispatcher look again, after the fake clock moved.
func (q *Queue) wakeForTest() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.wakeLocked()
}

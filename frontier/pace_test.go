package frontier

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"crawler/store"
)

// A host's pace outlives a restart: a delay the crawl set (an adaptive
// slowdown, a Crawl-delay) holds its first start for that delay after
// Open, and a pause (a Retry-After, a circuit breaker) holds it until the
// pause ends, also for a host first seen after the restart and for a pause
// set after the host's last commit (Close writes it). A delay set back to
// the base keeps nothing, and RestoredPaces reports what the file held for
// the hosts with work or a pause.
func TestRestartKeepsPace(t *testing.T) {
	clock, db, q, opts := openClocked(t, Options{PerHostConcurrency: 1})
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
	paced.Delay, paced.PausedUntil, paced.Trips = int64(3*time.Second), time.Unix(2_000_000, 5).UnixNano(), 4
	b := paced.marshal()
	if len(b) <= len(old) {
		t.Errorf("a record with a pace encodes in %d bytes, without in %d", len(b), len(old))
	}
	if r := unmarshalHostRecord(b); r != paced {
		t.Errorf("round trip with a pace: %+v; want %+v", r, paced)
	}
	now := time.Unix(2_000_000, 0)
	if p := paced.pace(now); p.Delay != 3*time.Second || !p.Until.Equal(time.Unix(2_000_000, 5)) || p.Trips != 4 {
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
	paceChange{setDelay: true, setTrips: true}.apply(&r, now.Add(time.Second)) // back to the base, the pause over, healthy
	if r != totals {
		t.Errorf("after the delay went back to the base, the pause ended and the trips were reset: %+v; want %+v", r, totals)
	}
	if b := r.marshal(); string(b) != string(old) {
		t.Errorf("a record whose pace is back to zeros encodes as %x; want the old encoding %x", b, old)
	}
	tripped := totals
	tripped.Trips = 1 // alone: the zeros before it are kept, the record still reads
	if got := unmarshalHostRecord(tripped.marshal()); got != tripped {
		t.Errorf("round trip with only trips: %+v; want %+v", got, tripped)
	}
}

// A host's breaker trips outlive a restart, so that the breaker's next
// opening pauses the host for the back-off it had reached (KeptTrips), with
// or without work left. A count set back to 0 (a healthy answer) keeps
// nothing, also when set on a host forgotten from memory and made again.
func TestRestartKeepsTrips(t *testing.T) {
	_, db, q, opts := openClocked(t, Options{PerHostConcurrency: 1})
	ctx := context.Background()
	links := []Link{link("healed", 1), link("forgot", 1), link("ended", 1)}
	for i := range 3 {
		links = append(links, link("dead", i))
	}
	if _, err := q.Add(ctx, links); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		it := next(t, q)
		switch it.Host {
		case "dead":
			q.SetTrips("dead", 3)
		case "healed":
			q.SetTrips("healed", 2)
			q.SetTrips("healed", 0)
		case "forgot", "ended":
			q.SetTrips(it.Host, 2)
		}
		finish(t, q, it)
	}
	// heal finishes the URLs released until one of host's, whose answer
	// is healthy.
	heal := func(host string) {
		for {
			it := next(t, q)
			healthy := it.Host == host
			if healthy {
				q.SetTrips(host, 0)
			}
			finish(t, q, it)
			if healthy {
				return
			}
		}
	}
	// forgot's last URL is done and its clock has run out: another host's
	// update forgets it. New work makes it again, and a healthy answer on
	// it must reach the file.
	forget(t, q, "forgot", "other")
	if _, err := q.Add(ctx, []Link{link("forgot", 2), link("forgot", 3)}); err != nil {
		t.Fatal(err)
	}
	heal("forgot")
	if _, err := q.Add(ctx, []Link{link("dead", 10)}); err != nil { // work left, whatever the loop took
		t.Fatal(err)
	}

	q = reopen(t, db, q, opts)
	for host, want := range map[string]int{"dead": 3, "ended": 2, "healed": 0, "forgot": 0, "never": 0} {
		if got := q.KeptTrips(host); got != want {
			t.Errorf("after the restart, KeptTrips(%s) = %d; want %d", host, got, want)
		}
	}
	if p, ok := q.RestoredPaces()["dead"]; ok {
		t.Errorf("RestoredPaces()[dead] = %+v; want none (trips are read when wanted)", p)
	}
	q.SetTrips("ended", 3) // not committed yet
	if got := q.KeptTrips("ended"); got != 3 {
		t.Errorf("KeptTrips(ended) = %d right after SetTrips(3)", got)
	}
	heal("dead")
	q = reopen(t, db, q, opts)
	for host, want := range map[string]int{"dead": 0, "ended": 3} {
		if got := q.KeptTrips(host); got != want {
			t.Errorf("after the second restart, KeptTrips(%s) = %d; want %d", host, got, want)
		}
	}
}

// A host's kept delay follows the delay set last: a host forgotten from
// memory (idle, its clock run out) comes back at its base delay, and when
// the engine then sets the base (its throttle back to default), the file
// must not keep the old slowdown for the next restart.
func TestKeptDelayOfAForgottenHost(t *testing.T) {
	clock, db, q, opts := openClocked(t, Options{PerHostConcurrency: 1})
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{link("s", 1)}); err != nil {
		t.Fatal(err)
	}
	it := next(t, q)
	q.SetDelay("s", 10*time.Minute) // an adaptive slowdown, kept
	finish(t, q, it)

	clock.advance(11 * time.Minute) // s idle, its clock run out
	forget(t, q, "s", "x")
	if _, err := q.Add(ctx, []Link{link("s", 2), link("s", 3)}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		it := next(t, q)
		if it.Host == "s" {
			q.SetDelay("s", 0) // the engine's delay for s is its base now
		}
		finish(t, q, it)
	}
	q = reopen(t, db, q, opts)
	if p, ok := q.RestoredPaces()["s"]; ok && p.Delay != 0 {
		t.Errorf("after the delay was set back to the base, the restart restores %+v for s; want no delay", p)
	}
}

// A pause a host asked for survives a restart that changes the politeness
// key mode (fetch.politeness_key: host -> domain): the host's URLs move to
// the domain's key, and so does what it asked for. It is counted once,
// live (BackedOff) and stored (the NextAt storeStats counts): the old key,
// which the new mode no longer makes, keeps no copy.
func TestRekeyKeepsPace(t *testing.T) {
	clock, db, q, _ := openClocked(t, Options{PerHostConcurrency: 1})
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{link("www.a.test", 1), link("www.a.test", 2)}); err != nil {
		t.Fatal(err)
	}
	it := next(t, q)
	until := clock.Now().Add(time.Hour)
	q.Pause(it.Host, until) // Retry-After: 3600
	q.SetTrips(it.Host, 2)
	finish(t, q, it)

	dom := Options{PerHostConcurrency: 1, Now: clock.Now, KeyMode: "domain", HostKey: hostKeyBy("domain")}
	q = reopen(t, db, q, dom)
	if n := q.BackedOff(); n != 1 {
		t.Errorf("live BackedOff after the re-key = %d; want 1 (one host paused)", n)
	}
	key := hostKeyBy("domain")("http://www.a.test/")
	if p := q.RestoredPaces()[key]; !p.Until.Equal(until) || p.Trips != 2 {
		t.Errorf("RestoredPaces()[%s] = %+v; want the pause until %v and 2 trips", key, p, until)
	}
	n := 0
	if err := db.View(func(tx *store.Tx) error {
		return tx.Bolt().Bucket(bucketHosts).ForEach(func(k, v []byte) error {
			if p := unmarshalHostRecord(v).pace(clock.Now()); !p.Until.IsZero() { // ReadHosts' NextAt
				t.Logf("stored pause on %s", k)
				n++
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("stored kept pauses after the re-key = %d; want 1", n)
	}
	if it := nextWithin(t, q, 300*time.Millisecond); it != nil {
		t.Errorf("released %s (key %s) before the pause its host asked for ended", it.URL, it.Host)
		finish(t, q, it)
	}
}

// Same for a config reload: SetLimits moves a host's delay to the new base
// and back, the engine sets the base, and the file must not keep the
// slowdown from before the reloads.
func TestKeptDelayAfterSetLimits(t *testing.T) {
	clock, db, q, opts := openClocked(t, Options{PerHostConcurrency: 1, PerHostDelay: 100 * time.Millisecond})
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{link("s", 1), link("s", 2), link("s", 3)}); err != nil {
		t.Fatal(err)
	}
	it := next(t, q)
	q.SetDelay("s", 250*time.Millisecond)
	finish(t, q, it)
	q.SetLimits(Limits{PerHostConcurrency: 1, PerHostDelay: time.Second})
	q.SetLimits(Limits{PerHostConcurrency: 1, PerHostDelay: 100 * time.Millisecond})
	clock.advance(time.Minute)
	q.wakeForTest()
	it = next(t, q)
	q.SetDelay("s", 100*time.Millisecond) // the engine's throttle is at the base again
	finish(t, q, it)
	q = reopen(t, db, q, opts)
	if p := q.RestoredPaces()["s"]; p.Delay != 0 {
		t.Errorf("after the reloads and the delay set to the base, the restart restores %+v for s; want no delay", p)
	}
}

// storedDelay reads the Delay the hosts bucket keeps for key.
func storedDelay(t *testing.T, db *store.DB, key string) (time.Duration, int64) {
	t.Helper()
	var r hostRecord
	if err := db.View(func(tx *store.Tx) error {
		r = unmarshalHostRecord(tx.Bolt().Bucket(bucketHosts).Get([]byte(key)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return time.Duration(r.Delay), r.PausedUntil
}

// A delay kept from a run with a higher cap is capped at load
// (MaxKeptDelay), and the file follows: the capped delay is written back,
// so a later restart under a higher cap does not bring the old one back.
func TestCappedKeptDelayIsWrittenBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		cap  time.Duration
		base time.Duration
		set  time.Duration // what the engine sets after restorePaces
		want time.Duration // what the file should keep then
	}{
		{"cap 250ms", 250 * time.Millisecond, 0, 250 * time.Millisecond, 250 * time.Millisecond},
		{"cap <0, base 100ms", -1, 100 * time.Millisecond, 100 * time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock, db, q, opts := openClocked(t, Options{PerHostConcurrency: 1, PerHostDelay: tc.base})
			ctx := context.Background()
			if _, err := q.Add(ctx, []Link{link("s", 1), link("s", 2), link("s", 3)}); err != nil {
				t.Fatal(err)
			}
			it := next(t, q)
			q.SetDelay("s", 8*time.Second) // last run, higher max_crawl_delay
			finish(t, q, it)
			clock.advance(time.Minute)

			capped := opts
			capped.MaxKeptDelay = tc.cap
			q = reopen(t, db, q, capped)
			if p := q.RestoredPaces()["s"]; p.Delay != 8*time.Second {
				t.Fatalf("RestoredPaces()[s] = %+v", p)
			}
			q.SetDelay("s", tc.set) // the engine's restorePaces: the capped delay
			clock.advance(time.Minute)
			q.wakeForTest()
			it = next(t, q)
			q.SetDelay("s", tc.set) // the throttle stays at the cap
			finish(t, q, it)
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
			if d, _ := storedDelay(t, db, "s"); d != tc.want {
				t.Errorf("file keeps delay %v for s after the crawl set %v; want %v", d, tc.set, tc.want)
			}
			q = reopen(t, db, q, opts) // the cap lifted (or changed) later
			if p := q.RestoredPaces()["s"]; p.Delay != tc.want {
				t.Errorf("a later restart restores %+v for s; want delay %v, not the 8s of a run ago", p, tc.want)
			}
		})
	}
}

// The same for a host without work at Open (its first URL a retry or a
// recrawl), whose SetDelay finds the capped hold equal to its delay.
func TestCappedKeptDelayOfHostWithoutWork(t *testing.T) {
	clock, db, q, opts := openClocked(t, Options{PerHostConcurrency: 1})
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{link("s", 1)}); err != nil {
		t.Fatal(err)
	}
	it := next(t, q)
	q.SetDelay("s", 8*time.Second)
	finish(t, q, it)
	clock.advance(time.Minute)

	capped := opts
	capped.MaxKeptDelay = 250 * time.Millisecond
	q = reopen(t, db, q, capped)
	q.SetDelay("s", 250*time.Millisecond)                       // e.g. a robots.txt Crawl-delay capped
	if _, err := q.Add(ctx, []Link{link("x", 1)}); err != nil { // a commit
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if d, _ := storedDelay(t, db, "s"); d != 250*time.Millisecond {
		t.Errorf("file keeps delay %v for s after the crawl set 250ms", d)
	}
}

// forget has host, idle with its clock run out, forgotten from memory,
// by adding a URL of host other (any update forgets such hosts).
func forget(t *testing.T, q *Queue, host, other string) {
	t.Helper()
	if _, err := q.Add(context.Background(), []Link{link(other, 1)}); err != nil {
		t.Fatal(err)
	}
	q.mu.Lock()
	_, remembered := q.hosts[host]
	q.mu.Unlock()
	if remembered {
		t.Fatalf("%s still in memory; the test needs it forgotten", host)
	}
}

// openClocked opens a queue with opts on a new file, a fake clock as its
// Now, and returns the clock and opts as given to Open (for reopen).
func openClocked(t *testing.T, opts Options) (*fakeClock, *store.DB, *Queue, Options) {
	t.Helper()
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	opts.Now = clock.Now
	db, q := openTest(t, filepath.Join(t.TempDir(), "crawl.db"), opts)
	return clock, db, q, opts
}

// wakeForTest makes the dispatcher look again, after the fake clock moved.
func (q *Queue) wakeForTest() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.wakeLocked()
}

// KeptTrips gives the count set last while the commit that writes it
// runs, when the count is neither noted any more nor in the file yet.
func TestKeptTripsDuringCommit(t *testing.T) {
	_, _, q, _ := openClocked(t, Options{PerHostConcurrency: 1})
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{link("gone", 1)}); err != nil {
		t.Fatal(err)
	}
	finish(t, q, next(t, q))
	forget(t, q, "gone", "other") // KeptTrips reads the file for it
	stale := 0
	for i := 1; i <= 200; i++ {
		q.SetTrips("gone", i)
		done := make(chan error, 1)
		go func() { _, err := q.Add(ctx, []Link{link("other", 1000+i)}); done <- err }() // a commit
		for polling := true; polling; {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				polling = false
			default:
				if got := q.KeptTrips("gone"); got != i {
					if stale == 0 {
						t.Errorf("KeptTrips(gone) = %d right after SetTrips(gone, %d), while a commit runs", got, i)
					}
					stale++
				}
			}
		}
	}
	if stale > 0 {
		t.Errorf("%d stale reads in all", stale)
	}
}

// The delays shown to operators (crawler hosts) are rounded to the
// millisecond: an adaptive delay of 426.261122ms reads 426ms, live and
// as kept for a restart.
func TestHostDelayShownInMilliseconds(t *testing.T) {
	_, db, q, _ := openClocked(t, Options{PerHostConcurrency: 1})
	if _, err := q.Add(context.Background(), []Link{link("h", 1), link("h", 2)}); err != nil {
		t.Fatal(err)
	}
	it := next(t, q)
	q.SetDelay("h", 426261122*time.Nanosecond)
	if got := q.Live()["h"].Delay; got != "426ms" {
		t.Errorf("live delay %q; want 426ms", got)
	}
	finish(t, q, it)
	if err := q.Close(); err != nil { // writes the host's totals and pace
		t.Fatal(err)
	}
	var stored string
	if err := db.View(func(tx *store.Tx) error {
		return ReadHosts(tx, func(h *HostInfo) error {
			stored = h.Delay
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if stored != "426ms" {
		t.Errorf("stored delay %q; want 426ms", stored)
	}
}

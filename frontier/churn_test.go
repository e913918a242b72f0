package frontier

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crawler/store"
)

// Stress: workers finish, requeue and retry URLs at random while pauses,
// host pauses, delays and limits change; the in-memory counts must never
// go negative and must equal the disk's at the end. In "wide", batches of
// links to hundreds of hosts are staged (staged.go) meanwhile, and crash
// images catch them staged.
func TestCountsMatchDiskUnderChurn(t *testing.T) {
	t.Run("narrow", func(t *testing.T) { churn(t, false) })
	t.Run("wide", func(t *testing.T) { churn(t, true) })
}

func churn(t *testing.T, wide bool) {
	db, q := openTest(t, "", Options{PerHostConcurrency: 2, PerHostDelay: 100 * time.Microsecond, MaxLeased: 6, Window: 2})
	ctx := context.Background()
	const hosts, perHost = 6, 25
	host := func(i int) string { return fmt.Sprintf("h%d", i) }
	var seeds []Link
	for i := range hosts {
		seeds = append(seeds, link(host(i), 0))
	}
	if _, err := q.Add(ctx, seeds); err != nil {
		t.Fatal(err)
	}
	var recrawled sync.Map
	var stop atomic.Bool
	var bad atomic.Value
	var wg sync.WaitGroup
	watch := func() {
		c := q.Counts()
		if c.InFlight < 0 || c.Queued < 0 {
			bad.Store(fmt.Sprintf("negative counts %+v", c))
		}
	}
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for !stop.Load() {
				cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
				it, err := q.Next(cctx)
				cancel()
				if err != nil {
					continue
				}
				watch()
				if r.IntN(4) == 0 {
					time.Sleep(time.Duration(r.IntN(200)) * time.Microsecond)
				}
				switch x := r.IntN(10); {
				case x < 2:
					var sent time.Time
					if r.IntN(2) == 0 {
						sent = time.Now()
					}
					if r.IntN(2) == 0 {
						q.Release(it, sent)
					}
					q.Requeue(it, sent)
				case x < 3 && it.Attempts < 2:
					q.Release(it, time.Now())
					if err := q.Commit(ctx, &Completion{Item: it, RetryAt: time.Now().Add(time.Duration(r.IntN(3)) * time.Millisecond)}); err != nil {
						bad.Store(err.Error())
					}
				default:
					var sent time.Time
					if r.IntN(3) > 0 {
						sent = time.Now()
					}
					q.Release(it, sent)
					var links []Link
					for range r.IntN(4) {
						l := link(host(r.IntN(hosts)), r.IntN(perHost))
						l.Depth = it.Depth + 1
						links = append(links, l)
					}
					st := []State{StateDone, StateFailed, StateDisallowed}[r.IntN(3)]
					var recrawl time.Time
					if st == StateDone && r.IntN(3) == 0 {
						if _, again := recrawled.LoadOrStore(it.URL, true); !again {
							recrawl = time.Now().Add(time.Duration(r.IntN(5)) * time.Millisecond)
						}
					}
					if err := q.Commit(ctx, &Completion{Item: it, State: st, Links: links, RecrawlAt: recrawl}); err != nil {
						bad.Store(err.Error())
					}
				}
				watch()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(99, 2))
		for !stop.Load() {
			switch r.IntN(5) {
			case 0:
				q.SetPaused(true)
				time.Sleep(time.Duration(r.IntN(300)) * time.Microsecond)
				q.SetPaused(false)
			case 1:
				q.Pause(host(r.IntN(hosts)), time.Now().Add(time.Duration(r.IntN(2000))*time.Microsecond))
			case 2:
				q.SetDelay(host(r.IntN(hosts)), time.Duration(r.IntN(500))*time.Microsecond)
			case 3:
				var limits map[string]HostLimits
				if r.IntN(2) == 0 { // one host with limits of its own
					limits = map[string]HostLimits{host(r.IntN(hosts)): {
						Delay: time.Duration(r.IntN(300)-100) * time.Microsecond, Concurrency: r.IntN(4)}}
				}
				q.SetLimits(Limits{PerHostConcurrency: 1 + r.IntN(3), PerHostDelay: time.Duration(r.IntN(200)) * time.Microsecond, HostLimits: limits, MaxLeased: 2 + r.IntN(8)})
			}
			watch()
			time.Sleep(200 * time.Microsecond)
		}
	}()
	if wide {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 3 && !stop.Load(); i++ {
				if _, err := q.Add(ctx, spread(stageFanout+50, i)); err != nil {
					bad.Store(err.Error())
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	dir := t.TempDir()
	var snaps []string
	wg.Add(1)
	go func() { // crash images: the file as a kill -9 at that instant leaves it
		defer wg.Done()
		for i := 0; !stop.Load() && i < 20; i++ {
			p := fmt.Sprintf("%s/snap%d.db", dir, i)
			if err := db.View(func(tx *store.Tx) error { return tx.Bolt().CopyFile(p, 0o600) }); err == nil {
				snaps = append(snaps, p)
			}
			time.Sleep(3 * time.Millisecond)
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	idle := 0
	for idle < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if q.Idle() {
			idle++
		} else {
			idle = 0
		}
	}
	stop.Store(true)
	wg.Wait()
	q.SetPaused(false)
	if v := bad.Load(); v != nil {
		t.Fatal(v)
	}
	c := q.Counts()
	var disk Counts
	_ = db.View(func(tx *store.Tx) error { disk = ReadCounts(tx); return nil })
	if idle < 5 {
		t.Fatalf("never idle: counts %+v, disk %+v", c, disk)
	}
	c.Hosts, disk.Hosts = 0, 0
	if c != disk {
		t.Fatalf("counts %+v; disk %+v", c, disk)
	}
	for _, p := range snaps {
		sdb, err := store.Open(p, store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		mustCheck(t, sdb)
		var sd Counts
		_ = sdb.View(func(tx *store.Tx) error { sd = ReadCounts(tx); return nil })
		sq, err := Open(sdb, Options{Now: func() time.Time { return time.Unix(0, 0) }}) // no recrawl due
		if err != nil {
			t.Fatal(err)
		}
		sc := sq.Counts()
		sq.Close()
		sdb.Close()
		sc.Hosts, sd.Hosts = 0, 0
		if sc != sd {
			t.Fatalf("crash image %s: opened counts %+v; stored %+v", p, sc, sd)
		}
	}
}

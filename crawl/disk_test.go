package crawl

import (
	"context"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"crawler/internal/testsite"
)

// Below store.min_free_bytes nothing is fetched; a reload that lowers the
// threshold resumes the crawl, which then finishes.
func TestDiskGuardPausesAndResumes(t *testing.T) {
	site, err := testsite.Start(testsite.Options{Hosts: 1, Pages: 5, FirstIP: "127.0.1.90"})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	cfg := testConfig(t, site.Seeds()...)
	cfg.Store.MinFreeBytes = 1 << 62 // more than any disk has
	var sawPaused bool
	crawlIdle(t, cfg, crawlOpts{during: func(ctx context.Context, e *Engine) {
		deadline := time.Now().Add(10 * time.Second)
		for !e.Paused() {
			if time.Now().After(deadline) || ctx.Err() != nil {
				t.Error("engine never paused for low disk space")
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		sawPaused = true
		time.Sleep(300 * time.Millisecond) // would be plenty for a 6-page crawl
		if n := site.Report().Requests; n != 0 {
			t.Errorf("%d requests while paused for disk space", n)
		}
		next := *e.Config()
		next.Store.MinFreeBytes = 0
		if err := e.Reload(ctx, &next); err != nil {
			t.Errorf("reload: %v", err)
		}
		if e.Paused() {
			t.Error("still paused after the threshold was lowered")
		}
	}})
	if !sawPaused {
		t.Fatal("guard never engaged")
	}
	if got, want := site.Report().Pages, len(site.PageURLs()); got != want {
		t.Errorf("after resuming, %d pages fetched; want %d", got, want)
	}
}

// guardDisk racing itself (housekeeping tick vs Reload) never leaves the frontier paused while Paused() reports false.
func TestGuardDiskRace(t *testing.T) {
	cfg := testConfig(t, "http://127.0.0.1:1/")
	cfg.Store.MinFreeBytes = 1 << 62 // always low
	_, e := newEngine(t, cfg)
	defer e.Close()
	relaxed := *cfg
	relaxed.Store.MinFreeBytes = 0
	// The frontier has no accessor for its pause; read the field.
	qp := reflect.ValueOf(e.q).Elem().FieldByName("paused")
	if qp.Kind() != reflect.Bool {
		t.Fatal("frontier.Queue has no bool field paused any more: update this test")
	}
	qPaused := qp.Bool

	// The race needs two goroutines running at once.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 4)))
	rounds := 20000 // the window is a few instructions wide
	if raceEnabled {
		rounds = 2000 // slower code, wider window
	}
	stuck := 0
	for range rounds {
		e.cfgp.Store(cfg)
		e.paused.Store(false)
		e.q.SetPaused(false)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { // Run's housekeeping tick
			defer wg.Done()
			e.guardDisk()
		}()
		go func() { // Reload: cfgp.Store(next) then guardDisk
			defer wg.Done()
			// Mostly busy: the window after the tick's decision is short.
			for i := 1; !e.paused.Load(); i++ {
				if i%1000 == 0 {
					runtime.Gosched()
				}
			}
			e.cfgp.Store(&relaxed)
			e.guardDisk()
		}()
		wg.Wait()
		e.guardDisk() // any later tick: must repair a mismatch, and cannot
		e.q.Counts()  // (orders the reflect read after the queue's lock)
		if qPaused() != e.Paused() {
			stuck++
		}
	}
	if stuck > 0 {
		t.Errorf("%d/%d rounds left the frontier paused while Paused() = false (min_free_bytes now 0)", stuck, rounds)
	}
}

// A reload that turns the guard off (store.min_free_bytes: 0) while it
// holds fetching lifts the pause, and the log says so, as it said when
// fetching paused: an operator must not be left with a pause logged and
// no end to it.
func TestDiskGuardTurnedOffIsLogged(t *testing.T) {
	e, log := loggingEngine(t, "")
	defer e.Close()
	low := *e.Config()
	low.Store.MinFreeBytes = 1 << 62 // more than any disk has
	if err := e.Reload(context.Background(), &low); err != nil {
		t.Fatal(err)
	}
	if !e.Paused() {
		t.Fatal("guard never engaged")
	}
	off := low
	off.Store.MinFreeBytes = 0
	if err := e.Reload(context.Background(), &off); err != nil {
		t.Fatal(err)
	}
	if e.Paused() {
		t.Error("still paused with the guard off")
	}
	if n := strings.Count(log.String(), "fetching resumed"); n != 1 {
		t.Errorf("log has %d lines saying fetching resumed; want 1. Log:\n%s", n, log.String())
	}
}

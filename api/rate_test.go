package api

import (
	"context"
	"math"
	"testing"
	"time"

	"crawler/store"
)

func TestRateWindow(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	w := rateWindow{span: time.Minute}
	if r := w.perSecond(t0, 5); r != 0 {
		t.Errorf("no samples: %v", r)
	}
	w.add(t0, 0)
	if r := w.perSecond(t0, 0); r != 0 {
		t.Errorf("no time passed: %v", r)
	}
	// 10 pages/s for 100 s, then nothing.
	for s := 1; s <= 100; s++ {
		w.add(at(s), int64(10*s))
	}
	if r := w.perSecond(at(100), 1000); math.Abs(r-10) > 1e-9 {
		t.Errorf("steady: %v; want 10", r)
	}
	for s := 101; s <= 130; s++ {
		w.add(at(s), 1000)
	}
	if r := w.perSecond(at(130), 1000); math.Abs(r-5) > 1e-9 { // 300 pages in the last 60 s
		t.Errorf("half idle: %v; want 5", r)
	}
	if len(w.samples) > 62 {
		t.Errorf("%d samples kept for a 60 s window sampled each second", len(w.samples))
	}
	// Young daemon: the rate since its start.
	y := rateWindow{span: time.Minute}
	y.add(t0, 0)
	if r := y.perSecond(at(4), 20); r != 5 {
		t.Errorf("young: %v; want 5", r)
	}
}

// A daemon that stores pages again (recrawls) stores pages: its rate
// counts them, though its counts of done and failed URLs end where they
// began (a recrawl takes a done URL back to queued, then done).
func TestDaemonRateCountsRecrawls(t *testing.T) {
	c := crawlSite(t, "127.0.1.107")
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	eng, d, setClock := runDaemon(t, c, now)
	ctx := context.Background()

	var urls []string
	if err := d.ListPages(ctx, PageFilter{}, func(p *store.Page) error { urls = append(urls, p.URL); return nil }); err != nil {
		t.Fatal(err)
	}
	if res, err := d.Recrawl(ctx, urls); err != nil || res.Queued != len(urls) {
		t.Fatalf("recrawl of %d pages: %+v, %v", len(urls), res, err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c := eng.Queue().Counts(); c.Queued == 0 && c.InFlight == 0 && eng.Stats().PagesStored.Load() >= int64(len(urls)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the recrawl did not finish: %+v", eng.Queue().Counts())
		}
	}
	setClock(now.Add(30 * time.Second))
	s, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.PagesPerSecond <= 0 {
		t.Errorf("stats after %d pages were stored again in 30s: %.2f pages/s; want more than 0", len(urls), s.PagesPerSecond)
	}
}

package crawl

import (
	"context"
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

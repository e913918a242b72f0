package crawl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"crawler/store"
)

// A seed added while a Reload runs keeps its host in scope.
func TestAddSeedsVsReloadScope(t *testing.T) {
	cfg := testConfig(t, "http://127.0.0.1:1/")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(cfg.DataDir, "crawl.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e, err := New(Options{Config: cfg, DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	// The race needs two goroutines running at once.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 4)))
	const rounds = 30
	lost := 0
	for i := range rounds {
		host := fmt.Sprintf("seed-%d.example", i)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := e.AddSeeds(ctx, []string{"http://" + host + "/"}); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			next := *e.Config()
			if err := e.Reload(ctx, &next); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
		if !e.inScope(host) {
			if a, _ := scopeHosts(e.Config(), db); a[host] { // recorded, yet out of scope
				lost++
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d/%d seeds added beside a reload are out of scope", lost, rounds)
	}
}

package store

import (
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Why the store unmaps what it has read.
//
// bbolt reads the file through a read-only shared mapping. Linux counts
// every page of that mapping that has a page-table entry in the process's
// RSS (RssFile), and a read fault maps not only the page read but the
// neighbours already in the page cache (fault-around: 64 KiB here). Since
// bbolt writes every page with pwrite, all of the file is in the page
// cache, so after some minutes of crawling nearly the whole file counts as
// resident: a 300 MB crawl.db is 300 MB of RSS. Operators who read RSS
// (top, ps, alerts, the OOM killer's score) as the daemon's memory may
// want that bounded.
//
// So a read-write DB given a budget (Options.MappedBudget) reads RssFile
// every 10ms and, once it is over the budget, drops its page-table
// entries for the mapping (madvise MADV_DONTNEED, which for a shared file
// mapping only unmaps: the pages stay in the page cache, a later read maps
// them back with a minor fault, and nothing is written or lost). It does
// so inside a read transaction, which holds off bbolt's remap, so the
// address range is bbolt's mapping and nothing else's.
//
// It is off by default because it changes an account, not the memory in
// use, and costs CPU. The page cache holds the same pages either way (the
// kernel reclaims them under pressure, mapped or not; a cgroup's memory
// accounting charges them either way), and the writer reads leaves all
// over the file, so once the file is much larger than the budget most of
// its reads fault again: a crawl bound by the writer does 15-35 % fewer
// pages a second, and bulk enqueue into a large frontier runs up to half
// as fast (bench/README.md).

// ErrNoMapping is returned by ReleaseMapped when the database's mapping
// cannot be found in /proc/self/maps (or this platform has none to
// release).
var ErrNoMapping = errors.New("database mapping not found")

// mappedCheckEvery is how often the release loop reads RssFile. One
// commit of a crawl writing thousands of pages a second can map some tens
// of MiB (the leaves it reads lie all over the file, and each read fault
// maps 64 KiB), which is how far RssFile overshoots the budget.
const mappedCheckEvery = 10 * time.Millisecond

// ReleaseMapped drops this process's page-table entries for the database
// file's mapping, so that the pages bbolt has read stop counting in the
// process's RSS. The file's pages stay in the page cache; the next read of
// one maps it again with a minor fault. It is safe to call concurrently
// with transactions. A read-write DB calls it by itself whenever RssFile
// exceeds Options.MappedBudget.
func (db *DB) ReleaseMapped() error {
	return db.bolt.View(func(*bolt.Tx) error {
		return releaseMapped(db.bolt.Info().Data, db.path)
	})
}

// SetMappedBudget sets Options.MappedBudget of an open DB: how many bytes
// of mapped files may count in the process's RSS, beyond what counted
// when the DB opened, before the DB unmaps its file; zero or less means
// never. It has no effect on a read-only DB.
func (db *DB) SetMappedBudget(n int64) {
	db.mappedBudget.Store(n)
	select {
	case db.budgetSet <- struct{}{}:
	default:
	}
}

// MappedBudget returns the budget SetMappedBudget (or Options) set, in
// bytes; zero or less means never unmap.
func (db *DB) MappedBudget() int64 { return db.mappedBudget.Load() }

// releaseLoop calls ReleaseMapped whenever the process's RssFile exceeds
// what it was when the DB opened (mappedBase) by more than the budget, until stop is closed or a call fails (then the mapping
// simply counts in RSS again, as it would without this loop). Without a
// budget it sleeps until SetMappedBudget gives one.
func (db *DB) releaseLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTimer(mappedCheckEvery)
	defer t.Stop()
	for {
		budget := db.mappedBudget.Load()
		var tick <-chan time.Time
		if budget > 0 {
			t.Reset(mappedCheckEvery)
			tick = t.C
		}
		select {
		case <-stop:
			return
		case <-db.budgetSet:
			continue
		case <-tick:
		}
		n, err := rssFile()
		if err != nil {
			return
		}
		if n-db.mappedBase > budget {
			if err := db.ReleaseMapped(); err != nil {
				return
			}
			db.releases.Add(1)
		}
	}
}

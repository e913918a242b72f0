package crawl

import (
	"syscall"
	"time"
)

// diskCheckEvery is how often free space in data_dir is checked.
const diskCheckEvery = 5 * time.Second

// guardDisk pauses fetching while free space in data_dir is below
// store.min_free_bytes, and resumes when it recovers. bbolt files only
// grow, so running out of disk mid-crawl is the failure to prevent. It
// runs on Run's tick and on Reload; diskMu makes each decision and the
// frontier's pause one step, so e.paused always matches the frontier.
func (e *Engine) guardDisk() {
	e.diskMu.Lock()
	defer e.diskMu.Unlock()
	cfg := e.config()
	if cfg.Store.MinFreeBytes <= 0 {
		if e.paused.Swap(false) {
			e.q.SetPaused(false)
			e.log.Info("disk guard: turned off (store.min_free_bytes: 0): fetching resumed")
		}
		return
	}
	free, err := freeBytes(cfg.DataDir)
	if err != nil {
		e.log.Warn("disk guard: cannot read free space", "dir", cfg.DataDir, "err", err)
		return
	}
	low := free < cfg.Store.MinFreeBytes
	if low == e.paused.Load() {
		return
	}
	e.paused.Store(low)
	e.q.SetPaused(low)
	if low {
		e.log.Warn("disk guard: free space below store.min_free_bytes: fetching paused",
			"free_bytes", free, "min_free_bytes", cfg.Store.MinFreeBytes)
	} else {
		e.log.Info("disk guard: free space recovered: fetching resumed", "free_bytes", free)
	}
}

// Paused reports whether fetching is paused by the disk guard.
func (e *Engine) Paused() bool { return e.paused.Load() }

// freeBytes returns the space available to unprivileged users in dir's
// file system.
func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

//go:build !linux

package store

// releaseMapped has nothing to do where the store does not know how the
// kernel counts a mapped file: it reports ErrNoMapping, which stops the
// release loop.
func releaseMapped(uintptr, string) error { return ErrNoMapping }

// rssFile is unknown here: it reports ErrNoMapping, which stops the
// release loop.
func rssFile() (int64, error) { return 0, ErrNoMapping }

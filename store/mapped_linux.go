package store

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"crawler/internal/procstatus"
)

// rssFile returns this process's RssFile in bytes: the pages of mapped
// files that count in its RSS.
func rssFile() (int64, error) {
	kib, err := procstatus.Read(0)
	if err != nil {
		return 0, err
	}
	n, ok := kib["RssFile"]
	if !ok {
		return 0, fmt.Errorf("%w: no RssFile in /proc/self/status", ErrNoMapping)
	}
	return n << 10, nil
}

// releaseMapped unmaps (MADV_DONTNEED) the mapping of the file at path that
// starts at addr, with every mapping of the same file that continues it.
// The caller holds a bbolt read transaction, so bbolt cannot remap
// meanwhile. A range that is not a shared mapping of that very file (by
// inode) is never touched: MADV_DONTNEED on anonymous memory would zero
// it.
func releaseMapped(addr uintptr, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ErrNoMapping
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return err
	}
	start, end, err := findMapping(maps, addr, st.Ino)
	if err != nil {
		return err
	}
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, start, end-start, syscall.MADV_DONTNEED); e != 0 {
		return fmt.Errorf("madvise: %w", e)
	}
	return nil
}

// findMapping returns the address range, in the /proc/<pid>/maps text
// maps, of the shared mapping of inode ino that starts at addr, extended
// over the mappings of the same inode that follow it without a gap (a
// mapping the kernel split). It is ErrNoMapping when no such mapping starts
// at addr.
func findMapping(maps []byte, addr uintptr, ino uint64) (start, end uintptr, err error) {
	sc := bufio.NewScanner(bytes.NewReader(maps))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		// 7f0c2a000000-7f0c6a000000 r--s 00000000 fd:01 1234 /data/crawl.db
		f := bytes.Fields(sc.Bytes())
		if len(f) < 5 {
			continue
		}
		lo, hi, ok := bytes.Cut(f[0], []byte("-"))
		if !ok {
			continue
		}
		s, err1 := strconv.ParseUint(string(lo), 16, 64)
		e, err2 := strconv.ParseUint(string(hi), 16, 64)
		n, err3 := strconv.ParseUint(string(f[4]), 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || e <= s {
			continue
		}
		shared := len(f[1]) == 4 && f[1][3] == 's'
		switch {
		case end == 0 && uintptr(s) == addr && n == ino && shared:
			start, end = uintptr(s), uintptr(e)
		case end != 0 && uintptr(s) == end && n == ino && shared:
			end = uintptr(e)
		case end != 0:
			return start, end, nil
		}
	}
	if end == 0 {
		return 0, 0, fmt.Errorf("%w: no shared mapping of inode %d at %#x", ErrNoMapping, ino, addr)
	}
	return start, end, nil
}

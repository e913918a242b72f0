package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"crawler/store"
)

// openPTY returns a pseudo-terminal's controller and its terminal end.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	var n, unlock uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Skipf("unlockpt: %v", e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Skipf("ptsname: %v", e)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open terminal end: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	go func() { _, _ = io.Copy(io.Discard, ptmx) }() // never let the terminal fill up
	return ptmx, tty
}

// "--output -" is standard output too: a gzipped WARC file is refused on
// a terminal whichever way standard output was asked for.
func TestExportWARCRefusesTerminal(t *testing.T) {
	_, tty := openPTY(t)
	cfg := storeWith(t, &store.Page{URL: "http://127.0.1.139/", Host: "127.0.1.139", Status: 200, FetchedAt: time.Now()})
	for _, args := range [][]string{
		{"export", "--format", "warc"},
		{"export", "--format", "warc", "--output", "-"},
	} {
		var errb bytes.Buffer
		code := Main(context.Background(), append(args, "--config", cfg), strings.NewReader(""), tty, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), "terminal") {
			t.Errorf("crawler %s on a terminal: exit %d, stderr %q; want %d refusing", strings.Join(args, " "), code, errb.String(), exitUsage)
		}
	}
}

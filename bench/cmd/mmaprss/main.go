// Command mmaprss shows how Linux counts a memory-mapped file in a
// process's RSS, which is most of our crawler's RSS in the benchmarks:
// bbolt reads crawl.db through a read-only shared mapping (with
// MADV_RANDOM), as this program maps a file it has just written. Reading
// one byte of one 4 KiB page in every 64 makes RssFile grow by far more
// than the pages read: the kernel maps neighbouring pages already in the
// page cache (fault-around, and whole large folios on recent kernels).
//
//	go run ./cmd/mmaprss            # 64 MiB file in the temp directory
//	go run ./cmd/mmaprss -mb 256
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"syscall"

	"crawler/internal/procstatus"
)

func main() {
	mb := flag.Int("mb", 64, "file size in MiB")
	stride := flag.Int("stride", 64, "read one page in this many")
	chunk := flag.Int("chunk", 1<<20, "write the file in pieces of this many bytes (bbolt writes 4096-byte pages one at a time)")
	flag.Parse()
	f, err := os.CreateTemp("", "mmaprss")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size := *mb << 20
	if *chunk < 1 || size%*chunk != 0 {
		log.Fatalf("-chunk %d: want a divisor of the file size", *chunk)
	}
	buf := make([]byte, *chunk)
	for i := range buf {
		buf[i] = 1
	}
	for off := 0; off < size; off += len(buf) {
		if _, err := f.WriteAt(buf, int64(off)); err != nil {
			log.Fatal(err)
		}
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		log.Fatal(err)
	}
	if err := syscall.Madvise(m, syscall.MADV_RANDOM); err != nil {
		log.Fatal(err)
	}
	before := rssFileKB()
	sum, pages := 0, 0
	for off := 0; off < size; off += *stride * 4096 {
		sum += int(m[off])
		pages++
	}
	fmt.Printf("file %d MiB written %d bytes at a time; read 1 byte in %d pages (%d KiB of pages, sum %d); RssFile %d -> %d KiB\n",
		*mb, *chunk, pages, pages*4, sum, before, rssFileKB())
}

// rssFileKB returns this process's RssFile, in KiB.
func rssFileKB() int64 {
	kib, err := procstatus.Read(0)
	if err != nil {
		log.Fatal(err)
	}
	return kib["RssFile"]
}

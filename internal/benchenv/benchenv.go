// Package benchenv reads the environment variables the benchmarks share,
// so that every package's benchmarks read them the same way:
//
//	BENCH_SCALE=0.1   multiply the work (pages, URLs) by this; default 1
//	BENCH_NOSYNC=1    open the store without fsync, to tell disk from CPU
//	BENCH_MAX_MAPPED_BYTES=33554432
//	                  the store's MappedBudget (store.max_mapped_bytes);
//	                  default 0, never unmap
package benchenv

import (
	"os"
	"strconv"
	"testing"
)

// Scale returns BENCH_SCALE, 1 when unset; it fails tb on anything but a
// positive number.
func Scale(tb testing.TB) float64 {
	tb.Helper()
	v := os.Getenv("BENCH_SCALE")
	if v == "" {
		return 1
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		tb.Fatalf("BENCH_SCALE=%q: want a positive number", v)
	}
	return f
}

// MaxMappedBytes returns BENCH_MAX_MAPPED_BYTES, 0 when unset; it fails
// tb on anything but a number.
func MaxMappedBytes(tb testing.TB) int64 {
	tb.Helper()
	v := os.Getenv("BENCH_MAX_MAPPED_BYTES")
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		tb.Fatalf("BENCH_MAX_MAPPED_BYTES=%q: want a number of bytes", v)
	}
	return n
}

// NoSync reports whether BENCH_NOSYNC=1.
func NoSync() bool { return os.Getenv("BENCH_NOSYNC") == "1" }

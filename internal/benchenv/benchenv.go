// Package benchenv reads the environment variables the benchmarks share,
// so that every package's benchmarks read them the same way:
//
//	BENCH_SCALE=0.1   multiply the work (pages, URLs) by this; default 1
//	BENCH_NOSYNC=1    open the store without fsync, to tell disk from CPU
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

// NoSync reports whether BENCH_NOSYNC=1.
func NoSync() bool { return os.Getenv("BENCH_NOSYNC") == "1" }

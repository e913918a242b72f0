package heaplimit

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLimit(t *testing.T) {
	for _, c := range []struct{ floor, live, want int64 }{
		{96 << 20, 0, 96 << 20},
		{96 << 20, 40 << 20, 96 << 20},
		{96 << 20, 48 << 20, 96 << 20},
		{96 << 20, 200 << 20, 400 << 20},
	} {
		if got := Limit(c.floor, c.live); got != c.want {
			t.Errorf("Limit(%d, %d) = %d; want %d", c.floor, c.live, got, c.want)
		}
	}
}

// The limit rises with a live heap larger than the floor's share, falls
// back to the floor once that heap is garbage, and Stop restores the
// limit that was set before Start.
func TestFollowsTheLiveHeap(t *testing.T) {
	const floor = 16 << 20
	before := debug.SetMemoryLimit(-1)
	f := Start(floor, time.Hour) // checks made by hand
	if got := debug.SetMemoryLimit(-1); got != floor {
		t.Fatalf("limit after Start = %d; want the floor %d", got, floor)
	}
	live := make([]byte, 64<<20)
	for i := range live {
		live[i] = byte(i)
	}
	runtime.GC()
	if got := f.Update(); got < 2*int64(len(live)) || debug.SetMemoryLimit(-1) != got {
		t.Errorf("limit with %d MiB live = %d (runtime %d); want >= %d", len(live)>>20, got, debug.SetMemoryLimit(-1), 2*len(live))
	}
	runtime.KeepAlive(live)
	live = nil
	runtime.GC()
	if got := f.Update(); got != floor {
		t.Errorf("limit once the heap is garbage = %d; want the floor %d", got, floor)
	}
	f.Stop()
	f.Stop() // twice is harmless
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after Stop = %d; want %d as before Start", got, before)
	}
}

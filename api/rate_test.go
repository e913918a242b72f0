package api

import (
	"math"
	"testing"
	"time"
)

func TestRateWindow(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	w := rateWindow{span: time.Minute}
	if r := w.perSecond(t0, 5); r != 0 {
		t.Errorf("no samples: %v", r)
	}
	w.add(t0, 0)
	if r := w.perSecond(t0, 0); r != 0 {
		t.Errorf("no time passed: %v", r)
	}
	// 10 pages/s for 100 s, then nothing.
	for s := 1; s <= 100; s++ {
		w.add(at(s), int64(10*s))
	}
	if r := w.perSecond(at(100), 1000); math.Abs(r-10) > 1e-9 {
		t.Errorf("steady: %v; want 10", r)
	}
	for s := 101; s <= 130; s++ {
		w.add(at(s), 1000)
	}
	if r := w.perSecond(at(130), 1000); math.Abs(r-5) > 1e-9 { // 300 pages in the last 60 s
		t.Errorf("half idle: %v; want 5", r)
	}
	if len(w.samples) > 62 {
		t.Errorf("%d samples kept for a 60 s window sampled each second", len(w.samples))
	}
	// Young daemon: the rate since its start.
	y := rateWindow{span: time.Minute}
	y.add(t0, 0)
	if r := y.perSecond(at(4), 20); r != 5 {
		t.Errorf("young: %v; want 5", r)
	}
}

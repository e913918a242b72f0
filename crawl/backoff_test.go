package crawl

import (
	"math"
	"net/http"
	"testing"
	"time"
)

// fixed returns a Jitter that always answers j.
func fixed(j float64) func() float64 { return func() float64 { return j } }

func TestBackoffSchedule(t *testing.T) {
	const base, maxDelay = 2 * time.Second, 5 * time.Minute
	tests := []struct {
		name   string
		jitter float64
		n      int
		want   time.Duration
	}{
		{"first retry, jitter floor", 0, 1, 1600 * time.Millisecond},
		{"first retry, no jitter", 0.5, 1, 2 * time.Second},
		{"second retry doubles", 0.5, 2, 4 * time.Second},
		{"third retry doubles again", 0.5, 3, 8 * time.Second},
		{"third retry, jitter floor", 0, 3, 6400 * time.Millisecond},
		{"n below 1 is the first retry", 0.5, 0, 2 * time.Second},
		{"negative n is the first retry", 0.5, -3, 2 * time.Second},
		{"below the cap", 0.5, 8, 256 * time.Second},             // 2s·2^7
		{"jitter pushes past the cap", 0.999, 8, maxDelay},       // 256s·1.2 > 300s
		{"cap", 0.5, 9, maxDelay},                                // 512s
		{"cap with jitter floor", 0, 9, maxDelay},                // 512s·0.8 > 300s
		{"far past the cap", 0.5, 1000, maxDelay},                // no overflow
		{"far past the cap, jitter floor", 0, 1 << 30, maxDelay}, // no overflow
		{"far past the cap, jitter ceiling", 0.999, 1 << 30, maxDelay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Backoff{Base: base, Max: maxDelay, Jitter: fixed(tt.jitter)}
			if got := b.Delay(tt.n); got != tt.want {
				t.Errorf("Delay(%d) with jitter %v = %v; want %v", tt.n, tt.jitter, got, tt.want)
			}
		})
	}
}

// The jitter spans ±20% around base·2^(n-1): 0 gives 0.8×, 0.5 gives 1×,
// just under 1 gives just under 1.2×.
func TestBackoffJitterRange(t *testing.T) {
	const base = 100 * time.Millisecond
	b := func(j float64) Backoff { return Backoff{Base: base, Max: time.Hour, Jitter: fixed(j)} }
	for n := 1; n <= 6; n++ {
		nominal := base << (n - 1)
		lo, mid, hi := b(0).Delay(n), b(0.5).Delay(n), b(0.999).Delay(n)
		if want := nominal * 8 / 10; lo != want {
			t.Errorf("n=%d jitter 0: %v; want %v", n, lo, want)
		}
		if mid != nominal {
			t.Errorf("n=%d jitter 0.5: %v; want %v", n, mid, nominal)
		}
		if want := time.Duration(float64(nominal) * 1.1996); hi < want || hi >= nominal*12/10 {
			t.Errorf("n=%d jitter 0.999: %v; want in [%v, %v)", n, hi, want, nominal*12/10)
		}
	}
}

// Without an injected Jitter, the default source stays within ±20%.
func TestBackoffDefaultJitter(t *testing.T) {
	b := Backoff{Base: time.Second, Max: time.Hour}
	seen := map[time.Duration]bool{}
	for range 200 {
		d := b.Delay(2)
		if d < 1600*time.Millisecond || d > 2400*time.Millisecond {
			t.Fatalf("Delay(2) = %v; want within 2s ±20%%", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Errorf("200 delays with the default jitter were all %v; want jitter", seen)
	}
}

// However large the cap and the retry number, a delay is positive, at most
// the cap, and never shrinks from one retry to the next.
func TestBackoffNeverOverflows(t *testing.T) {
	for _, maxDelay := range []time.Duration{5 * time.Minute, 1000000 * time.Hour, math.MaxInt64} {
		for _, j := range []float64{0, 0.5, 0.999} {
			b := Backoff{Base: 2 * time.Second, Max: maxDelay, Jitter: fixed(j)}
			prev := time.Duration(0)
			for n := 1; n <= 200; n++ {
				d := b.Delay(n)
				if d <= 0 || d > maxDelay || d < prev {
					t.Errorf("max %v jitter %v: Delay(%d) = %v after %v; want in (0, max], non-decreasing",
						maxDelay, j, n, d, prev)
					break
				}
				prev = d
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	const year = 365 * 24 * time.Hour
	tests := []struct {
		name  string
		value string
		want  time.Duration
		ok    bool
	}{
		{"seconds", "120", 120 * time.Second, true},
		{"one second", "1", time.Second, true},
		{"zero", "0", 0, true},
		{"surrounding spaces", "  7\t", 7 * time.Second, true},
		{"IMF-fixdate", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"RFC 850 date", "Friday, 14-Mar-25 15:10:26 GMT", time.Minute, true},
		{"ANSI C date", "Fri Mar 14 15:11:26 2025", 2 * time.Minute, true},
		{"date now", now.Format(http.TimeFormat), 0, true},
		{"date in the past", now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"date long past", "Thu, 01 Jan 1970 00:00:00 GMT", 0, true},
		{"huge seconds capped", "9999999999", year, true},
		// delay-seconds is 1*DIGIT: a value beyond int64 is still a valid
		// (very long) delay, to be capped like any other, not garbage.
		{"seconds beyond int64 capped", "99999999999999999999999", year, true},
		{"empty", "", 0, false},
		{"blank", "   ", 0, false},
		{"negative", "-5", 0, false},
		{"fraction", "1.5", 0, false},
		{"unit", "5s", 0, false},
		{"word", "soon", 0, false},
		{"list", "5, 10", 0, false},
		{"date without zone", "2025-03-14 15:10:26", 0, false},
		{"garbage bytes", "\x00\xff\xfe", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RetryAfter(tt.value, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// A date far in the future is a long positive wait (the engine caps it at
// fetch.retry_max_delay); it must not wrap to a negative one.
func TestRetryAfterFarFutureDate(t *testing.T) {
	now := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	got, ok := RetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now)
	if !ok || got < 365*24*time.Hour {
		t.Errorf("RetryAfter(year 9999) = %v, %v; want a wait of more than a year", got, ok)
	}
}

// The result depends on the injected now, not on the wall clock.
func TestRetryAfterUsesInjectedClock(t *testing.T) {
	date := "Wed, 21 Oct 2015 07:28:00 GMT"
	at := time.Date(2015, 10, 21, 7, 27, 30, 0, time.UTC)
	if got, ok := RetryAfter(date, at); !ok || got != 30*time.Second {
		t.Errorf("30s before the date: %v, %v; want 30s", got, ok)
	}
	if got, ok := RetryAfter(date, at.Add(time.Minute)); !ok || got != 0 {
		t.Errorf("30s after the date: %v, %v; want 0", got, ok)
	}
}

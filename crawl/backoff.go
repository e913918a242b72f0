package crawl

import (
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff computes retry waits: base·2^(n-1) with ±20% jitter, capped.
type Backoff struct {
	Base time.Duration // wait before the first retry
	Max  time.Duration // no wait exceeds this
	// Jitter returns a float in [0,1); nil means math/rand. Tests fix it.
	Jitter func() float64
}

// Delay returns the wait before retry n (1 for the first retry).
func (b Backoff) Delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := b.Base
	for i := 1; i < n && (b.Max <= 0 || d < b.Max) && d <= math.MaxInt64/2; i++ {
		d *= 2
	}
	j := rand.Float64
	if b.Jitter != nil {
		j = b.Jitter
	}
	f := float64(d) * (0.8 + 0.4*j())
	if f >= math.MaxInt64 {
		d = math.MaxInt64
	} else {
		d = time.Duration(f)
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	return d
}

// RetryAfter parses a Retry-After header value, either delay-seconds or an
// HTTP date, relative to now. It returns false when the value is absent or
// malformed; a date in the past gives zero.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	const maxSecs = int64(365 * 24 * time.Hour / time.Second)
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, maxSecs)) * time.Second, true
	} else if errors.Is(err, strconv.ErrRange) && v[0] != '-' {
		return time.Duration(maxSecs) * time.Second, true // absurdly long: cap
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

package crawl

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// stallMin is the lateness at which a stallWatch sleeper counts a stall.
const stallMin = 10 * time.Millisecond

// stallWatch records when this test process's goroutines did not run (a
// sleeper that woke more than stallMin late): a noisy machine's steal
// time or a long pause. A test server in the process stalls with the
// crawler, so a request the crawler sent just before a stall reaches the
// handler only after it, together with the one the crawler sent, on time,
// after it: a gap the server measured across such a stall says nothing
// about the crawler's scheduling.
type stallWatch struct {
	mu    sync.Mutex
	spans [][2]time.Time // from, to
	stop  chan struct{}
	done  chan struct{}
}

// watchStalls records stalls until the test ends.
func watchStalls(t *testing.T) *stallWatch {
	w := &stallWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			from := time.Now()
			select {
			case <-w.stop:
				return
			case <-time.After(time.Millisecond):
			}
			if to := time.Now(); to.Sub(from) > time.Millisecond+stallMin {
				w.mu.Lock()
				w.spans = append(w.spans, [2]time.Time{from, to})
				w.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		close(w.stop)
		<-w.done
	})
	return w
}

// excuse returns the stall, if any, that can explain a server-side start
// at arrived being at least late later than the crawler sent it: one that
// lasted that long and ended no more than stallMin before arrived (the
// handler ran once the process did).
func (w *stallWatch) excuse(arrived time.Time, late time.Duration) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.spans {
		if !s[0].After(arrived) && !s[1].Before(arrived.Add(-stallMin)) && s[1].Sub(s[0]) >= late {
			return fmt.Sprintf("the process stalled %v, from %s", s[1].Sub(s[0]).Round(time.Millisecond), s[0].Format("15:04:05.000")), true
		}
	}
	return "", false
}

package crawl

import (
	"sync"
	"time"

	"crawler/frontier"
)

// Pause holds the whole crawl ("" in hosts) or each of hosts (canonical
// host[:port]) until until, or until Resume when until is zero: no request
// starts under a hold, and requests already sent finish. The holds are
// stored with the crawl, so they outlive restarts. Pausing a held host (or
// the held crawl) again replaces its hold. Under fetch.politeness_key
// domain a host's hold holds its whole registrable domain. It returns the
// holds as stored.
func (e *Engine) Pause(hosts []string, until time.Time) ([]frontier.Hold, error) {
	holds := make([]frontier.Hold, len(hosts))
	for i, h := range hosts {
		holds[i] = frontier.Hold{Host: h, Until: until}
	}
	placed, err := e.q.Hold(holds...)
	if err != nil {
		return nil, err
	}
	for _, h := range placed {
		e.log.Info("paused by the operator", holdAttrs(h)...)
	}
	e.holds.watch(e.q.Holds(), e.now())
	return placed, nil
}

// Resume lifts the holds of the whole crawl ("" in hosts) or of each of
// hosts, and returns how many there were. A host's politeness delay still
// counts from its last request.
func (e *Engine) Resume(hosts []string) (int, error) {
	n, err := e.q.Unhold(hosts...)
	if err == nil && n > 0 {
		e.log.Info("resumed by the operator", "holds_lifted", n)
	}
	e.holds.watch(e.q.Holds(), e.now())
	return n, err
}

// startHolds logs the holds stored before the start (at now) and
// watches the timed ones, so that the log of a run that starts paused
// says so, as it does for a hold placed while it runs.
func (e *Engine) startHolds(now time.Time) {
	holds := e.q.Holds()
	for _, h := range holds {
		e.log.Info("paused by the operator before this start", holdAttrs(h)...)
	}
	e.holds.watch(holds, now)
}

// Holds returns the operator's holds in force, the whole crawl's first.
func (e *Engine) Holds() []frontier.Hold { return e.q.Holds() }

// holdWatch remembers when the operator's timed holds run out, so that
// the log says when each ended: the frontier lifts such a hold by itself,
// with nothing to tell, and the log would otherwise say when a pause
// began and never when it ended. (Resume logs the holds it lifts.)
type holdWatch struct {
	mu    sync.Mutex
	timed map[string]frontier.Hold // by host, "" for the whole crawl
}

// watch makes the timed ones of holds, the holds in force at now, those
// watched. A watched hold that ran out before now stays until ended
// reports it, unless a hold in holds replaced it.
func (w *holdWatch) watch(holds []frontier.Hold, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	timed := make(map[string]frontier.Hold, len(holds))
	for _, h := range holds {
		if !h.Until.IsZero() {
			timed[h.Host] = h
		}
	}
	for host, h := range w.timed {
		if _, replaced := timed[host]; !replaced && !now.Before(h.Until) {
			timed[host] = h
		}
	}
	w.timed = timed
}

// ended returns the watched holds that have run out by now, and stops
// watching them.
func (w *holdWatch) ended(now time.Time) []frontier.Hold {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []frontier.Hold
	for host, h := range w.timed {
		if !now.Before(h.Until) {
			out = append(out, h)
			delete(w.timed, host)
		}
	}
	return out
}

func holdAttrs(h frontier.Hold) []any {
	what := "the whole crawl"
	if h.Host != "" {
		what = h.Host
	}
	attrs := []any{"what", what}
	if !h.Until.IsZero() {
		attrs = append(attrs, "until", h.Until.Format(time.RFC3339))
	}
	return attrs
}

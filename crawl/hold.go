package crawl

import (
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
	return n, err
}

// Holds returns the operator's holds in force, the whole crawl's first.
func (e *Engine) Holds() []frontier.Hold { return e.q.Holds() }

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

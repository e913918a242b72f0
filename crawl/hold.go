package crawl

import (
	"time"

	"crawler/frontier"
)

// Pause holds the whole crawl (host "") or one host (canonical
// host[:port]) until until, or until Resume when until is zero: no request
// starts under the hold, and requests already sent finish. The hold is
// stored with the crawl, so it outlives restarts. Pausing a held host (or
// the held crawl) again replaces its hold. Under fetch.politeness_key
// domain a host's hold holds its whole registrable domain.
func (e *Engine) Pause(host string, until time.Time) (frontier.Hold, error) {
	h, err := e.q.Hold(frontier.Hold{Host: host, Until: until})
	if err != nil {
		return h, err
	}
	e.log.Info("paused by the operator", holdAttrs(h)...)
	return h, nil
}

// Resume lifts the hold of the whole crawl (host "") or of one host, and
// reports whether there was one. A host's politeness delay still counts
// from its last request.
func (e *Engine) Resume(host string) (bool, error) {
	was, err := e.q.Unhold(host)
	if err == nil && was {
		e.log.Info("resumed by the operator", holdAttrs(frontier.Hold{Host: host})...)
	}
	return was, err
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

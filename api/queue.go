package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"crawler/frontier"
	"crawler/internal/urlnorm"
	"crawler/store"
)

// QueueFilter selects queued URLs for Querier.Queue. The zero value
// selects every one.
type QueueFilter struct {
	// Host keeps the URLs of one host ("host" or "host:port"). Default ""
	// = every host.
	Host string `json:"host,omitempty"`

	// Limit stops the listing after that many URLs. Default 0 = no limit.
	Limit int `json:"limit,omitempty"`
}

// host returns f.Host in canonical form (host[:port], without the default
// port of http); "" for none.
func (f QueueFilter) host() (string, error) {
	if f.Host == "" {
		return "", nil
	}
	h, err := urlnorm.ParseHost(f.Host)
	if err != nil {
		return "", fmt.Errorf("host %q: not a host or host:port: %w", f.Host, ErrInvalid)
	}
	return h, nil
}

// queue lists the queued URLs f selects (see Querier.Queue) in bounded
// transactions, calling fn outside them; leased, when not nil, marks the
// URLs in flight.
func (r reader) queue(ctx context.Context, f QueueFilter, leased func(*frontier.QueuedURL) bool, fn func(*frontier.QueuedURL) error) error {
	host, err := f.host()
	if err != nil {
		return err
	}
	if host != "" && r.hostKey != nil {
		host = r.hostKey(host) // the URLs queued with it, under fetch.politeness_key
	}
	var mark frontier.QueueMark
	n := 0
	for more := true; more; {
		if err := ctx.Err(); err != nil {
			return err
		}
		var batch []*frontier.QueuedURL
		err := r.db.View(func(tx *store.Tx) (err error) {
			mark, more, err = frontier.ReadQueue(tx, host, mark, batchPages, func(u *frontier.QueuedURL) error {
				batch = append(batch, u)
				return nil
			})
			return err
		})
		if err != nil {
			return err
		}
		for _, u := range batch {
			if leased != nil {
				u.InFlight = leased(u)
			}
			if err := fn(u); err != nil {
				return err
			}
			if n++; f.Limit > 0 && n >= f.Limit {
				return nil
			}
		}
	}
	return nil
}

// Queue implements Querier from the file: no URL shows as in flight.
func (l *Local) Queue(ctx context.Context, f QueueFilter, fn func(*frontier.QueuedURL) error) error {
	return l.queue(ctx, f, nil, fn)
}

// Queue implements Querier: the file's queues, with the URLs leased to
// the running engine's workers marked in flight.
func (d *Daemon) Queue(ctx context.Context, f QueueFilter, fn func(*frontier.QueuedURL) error) error {
	return d.queue(ctx, f, d.eng.Queue().Leased, fn)
}

// Queue implements Querier.
func (c *Client) Queue(ctx context.Context, f QueueFilter, fn func(*frontier.QueuedURL) error) error {
	q := url.Values{}
	if f.Host != "" {
		q.Set("host", f.Host)
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return c.stream(ctx, "/v1/queue", q, func(l *line) error {
		if l.Queued == nil {
			return fmt.Errorf("queue: line without a URL: %w", ErrProtocol)
		}
		return fn(l.Queued)
	})
}

func (s *Server) queue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q, "limit")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := &stream{w: w}
	err = s.q.Queue(r.Context(), QueueFilter{Host: q.Get("host"), Limit: limit}, func(u *frontier.QueuedURL) error {
		return st.send(&line{Queued: u})
	})
	s.finish(st, r, err)
}

package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"crawler/frontier"
	"crawler/internal/urlnorm"
	"crawler/store"
)

// The operator's pauses (Querier.Pause, Resume and Holds) on every side of
// the socket.

// holdHosts returns the hosts of a pause or resume request in canonical
// form, "" (the whole crawl) as is; none, or one that is not a host, is
// ErrInvalid.
func holdHosts(verb string, hosts []string) ([]string, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("%s: no host, nor the whole crawl: %w", verb, ErrInvalid)
	}
	out := make([]string, len(hosts))
	for i, h := range hosts {
		if h == "" {
			continue
		}
		c, err := urlnorm.ParseHost(h)
		if err != nil {
			return nil, fmt.Errorf("%s: host %q: not a host or host:port: %w", verb, h, ErrInvalid)
		}
		out[i] = c
	}
	return out, nil
}

// Pause implements Querier for a stopped crawl: the holds are stored in
// its database (which must be open read-write), and its next run starts
// under them.
func (l *Local) Pause(_ context.Context, hosts []string, until time.Time) ([]frontier.Hold, error) {
	hosts, err := holdHosts("pause", hosts)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]frontier.Hold, len(hosts))
	err = l.db.Update(func(tx *store.Tx) (err error) {
		for i, host := range hosts {
			if out[i], err = frontier.PutHold(tx, frontier.Hold{Host: host, Until: until}, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil { // store.ErrReadOnly when the file was opened read-only
		return nil, fmt.Errorf("pause a stopped crawl: %w", err)
	}
	return out, nil
}

// Resume implements Querier for a stopped crawl, as Pause does.
func (l *Local) Resume(_ context.Context, hosts []string) (int, error) {
	hosts, err := holdHosts("resume", hosts)
	if err != nil {
		return 0, err
	}
	var n int
	err = l.db.Update(func(tx *store.Tx) (err error) {
		n, err = frontier.DeleteHolds(tx, hosts, time.Now())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("resume a stopped crawl: %w", err)
	}
	return n, nil
}

// Holds implements Querier with the holds stored in the file.
func (l *Local) Holds(context.Context) ([]frontier.Hold, error) { return l.storedHolds() }

func (r reader) storedHolds() (holds []frontier.Hold, err error) {
	err = r.db.View(func(tx *store.Tx) error {
		holds, err = frontier.ReadHolds(tx, time.Now())
		return err
	})
	return holds, err
}

// Pause implements Querier: the running engine stops starting requests
// under the holds at once.
func (d *Daemon) Pause(_ context.Context, hosts []string, until time.Time) ([]frontier.Hold, error) {
	hosts, err := holdHosts("pause", hosts)
	if err != nil {
		return nil, err
	}
	return d.eng.Pause(hosts, until)
}

// Resume implements Querier: the running engine lifts the holds at once.
func (d *Daemon) Resume(_ context.Context, hosts []string) (int, error) {
	hosts, err := holdHosts("resume", hosts)
	if err != nil {
		return 0, err
	}
	return d.eng.Resume(hosts)
}

// Holds implements Querier with the engine's holds in force.
func (d *Daemon) Holds(context.Context) ([]frontier.Hold, error) { return d.eng.Holds(), nil }

// holdRequest is the body of the pause and resume endpoints; "" in Hosts
// is the whole crawl. Pause answers a holdsAnswer, resume a resumeAnswer.
type holdRequest struct {
	Hosts []string  `json:"hosts"`
	Until time.Time `json:"until,omitzero"`
}

type holdsAnswer struct {
	Holds []frontier.Hold `json:"holds"`
}

type resumeAnswer struct {
	Lifted int `json:"lifted"`
}

func (s *Server) pause(w http.ResponseWriter, r *http.Request) {
	var req holdRequest
	if !s.decode(w, r, "pause", maxSeedRequest, &req) {
		return
	}
	holds, err := s.q.Pause(r.Context(), req.Hosts, req.Until)
	s.reply(w, r, holdsAnswer{Holds: holds}, err)
}

func (s *Server) resume(w http.ResponseWriter, r *http.Request) {
	var req holdRequest
	if !s.decode(w, r, "resume", maxSeedRequest, &req) {
		return
	}
	n, err := s.q.Resume(r.Context(), req.Hosts)
	s.reply(w, r, resumeAnswer{Lifted: n}, err)
}

func (s *Server) holds(w http.ResponseWriter, r *http.Request) {
	holds, err := s.q.Holds(r.Context())
	s.reply(w, r, holdsAnswer{Holds: holds}, err)
}

// Pause implements Querier, sending hosts as Client.Seed sends URLs:
// when a request fails, the holds of those before it stay placed.
func (c *Client) Pause(ctx context.Context, hosts []string, until time.Time) (holds []frontier.Hold, err error) {
	err = postList(ctx, c, "/v1/pause", hosts,
		func(hosts []string) error { _, err := holdHosts("pause", hosts); return err },
		func(part []string) any { return holdRequest{Hosts: part, Until: until} },
		func(a holdsAnswer) { holds = append(holds, a.Holds...) })
	return holds, err
}

// Resume implements Querier, sending hosts as Client.Seed sends URLs.
func (c *Client) Resume(ctx context.Context, hosts []string) (lifted int, err error) {
	err = postList(ctx, c, "/v1/resume", hosts,
		func(hosts []string) error { _, err := holdHosts("resume", hosts); return err },
		func(part []string) any { return holdRequest{Hosts: part} },
		func(a resumeAnswer) { lifted += a.Lifted })
	return lifted, err
}

// Holds implements Querier.
func (c *Client) Holds(ctx context.Context) ([]frontier.Hold, error) {
	var a holdsAnswer
	err := c.call(ctx, http.MethodGet, "/v1/holds", nil, nil, &a)
	return a.Holds, err
}

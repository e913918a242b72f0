package fetcher

import (
	"context"
	"errors"
	"sync"
	"time"
)

// How long, and for how many hosts, targetVerdicts remembers a verdict.
const (
	targetTTL         = time.Minute
	maxTargetVerdicts = 4096
)

// targetVerdicts remembers checkTarget's verdict on a host (allowed, or
// blocked with ErrBlockedAddress) for targetTTL, so that a crawl through
// a proxy resolves each host about once a minute instead of before every
// request. A lookup that fails is not remembered: the next request tries
// again. A verdict can outlive a change of the host's DNS records by up to
// targetTTL; the proxy resolves the name itself, so its own rules stay the
// last word (see checkTarget). It is safe for concurrent use.
type targetVerdicts struct {
	mu  sync.Mutex
	m   map[string]targetVerdict
	now func() time.Time
}

type targetVerdict struct {
	err     error // nil: allowed
	expires time.Time
}

func newTargetVerdicts(now func() time.Time) *targetVerdicts {
	return &targetVerdicts{m: make(map[string]targetVerdict), now: now}
}

// check returns the verdict on host, from memory while it is fresh, else
// from check, which it then remembers unless the lookup itself failed.
func (v *targetVerdicts) check(ctx context.Context, host string, check func(context.Context, string) error) error {
	now := v.now()
	v.mu.Lock()
	d, ok := v.m[host]
	v.mu.Unlock()
	if ok && now.Before(d.expires) {
		return d.err
	}
	err := check(ctx, host)
	if err != nil && !errors.Is(err, ErrBlockedAddress) {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= maxTargetVerdicts {
		for k, d := range v.m {
			if !now.Before(d.expires) {
				delete(v.m, k)
			}
		}
		for k := range v.m { // all fresh: any one goes
			if len(v.m) < maxTargetVerdicts {
				break
			}
			delete(v.m, k)
		}
	}
	v.m[host] = targetVerdict{err: err, expires: now.Add(targetTTL)}
	return err
}

package fetcher

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// A verdict is remembered for targetTTL, a blocked one too; a failed
// lookup is not; the memory stays within maxTargetVerdicts hosts.
func TestTargetVerdicts(t *testing.T) {
	now := time.Unix(1000, 0)
	v := newTargetVerdicts(func() time.Time { return now })
	calls := map[string]int{}
	errLookup := errors.New("lookup failed")
	check := func(_ context.Context, host string) error {
		calls[host]++
		switch host {
		case "private.test":
			return fmt.Errorf("%w: private", ErrBlockedAddress)
		case "flaky.test":
			return errLookup
		}
		return nil
	}
	ctx := context.Background()
	for range 3 {
		if err := v.check(ctx, "ok.test", check); err != nil {
			t.Fatalf("ok.test: %v", err)
		}
		if err := v.check(ctx, "private.test", check); !errors.Is(err, ErrBlockedAddress) {
			t.Fatalf("private.test: %v; want blocked", err)
		}
		if err := v.check(ctx, "flaky.test", check); !errors.Is(err, errLookup) {
			t.Fatalf("flaky.test: %v; want the lookup's error", err)
		}
	}
	if calls["ok.test"] != 1 || calls["private.test"] != 1 || calls["flaky.test"] != 3 {
		t.Errorf("lookups %v; want one each for the verdicts, three for the failing lookup", calls)
	}
	now = now.Add(targetTTL)
	if err := v.check(ctx, "ok.test", check); err != nil || calls["ok.test"] != 2 {
		t.Errorf("after targetTTL: %v, %d lookups; want a second lookup", err, calls["ok.test"])
	}
	for i := range 2 * maxTargetVerdicts {
		_ = v.check(ctx, fmt.Sprintf("h%d.test", i), check)
	}
	if n := len(v.m); n > maxTargetVerdicts {
		t.Errorf("%d verdicts remembered; want at most %d", n, maxTargetVerdicts)
	}
}

package frontier

import (
	"context"
	"testing"
	"time"
)

// A host's own limits replace the defaults: a on no delay but one URL at
// a time, b on no delay and three at once, c on the defaults (an hour's
// delay). A reload can change them.
func TestHostLimits(t *testing.T) {
	_, q := openTest(t, "", Options{PerHostConcurrency: 2, PerHostDelay: time.Hour, HostLimits: map[string]HostLimits{
		"a": {Delay: 0, Concurrency: 1},
		"b": {Delay: 0, Concurrency: 3},
	}})
	var links []Link
	for _, h := range []string{"a", "b", "c"} {
		for i := range 4 {
			links = append(links, link(h, i))
		}
	}
	if _, err := q.Add(context.Background(), links); err != nil {
		t.Fatal(err)
	}
	drain := func() map[string][]*Item {
		out := map[string][]*Item{}
		for it := nextWithin(t, q, 300*time.Millisecond); it != nil; it = nextWithin(t, q, 300*time.Millisecond) {
			out[it.Host] = append(out[it.Host], it)
		}
		return out
	}
	got := drain()
	if len(got["a"]) != 1 || len(got["b"]) != 3 || len(got["c"]) != 1 {
		t.Fatalf("released a %d, b %d, c %d; want 1, 3 and 1", len(got["a"]), len(got["b"]), len(got["c"]))
	}
	finish(t, q, got["a"][0]) // no delay: a's next comes at once
	if again := drain(); len(again["a"]) != 1 || len(again) != 1 {
		t.Fatalf("after a's URL finished: released %v; want a's next only", again)
	}

	// A reload drops a's and b's limits and gives c some: a now waits
	// out the default hour, b is at its default two in flight (three are
	// out already), and c, on no delay, releases two at once.
	q.SetLimits(Limits{PerHostConcurrency: 2, PerHostDelay: time.Hour, HostLimits: map[string]HostLimits{"c": {Delay: 0, Concurrency: 2}}})
	for _, it := range got["c"] {
		finish(t, q, it)
	}
	if again := drain(); len(again["c"]) != 2 || len(again["a"]) != 0 || len(again["b"]) != 0 {
		t.Fatalf("after the reload: released %v; want c's next two only", again)
	}
}

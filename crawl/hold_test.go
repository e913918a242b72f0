package crawl

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"crawler/frontier"
)

// A timed pause ends by itself, and the log says so once, as it said
// when the pause began; the crawl then runs to its end.
func TestTimedPauseEndIsLogged(t *testing.T) {
	e, log := loggingEngine(t, `<html><a href="/a">a</a></html>`)
	until := time.Now().Add(300 * time.Millisecond)
	if _, err := e.Pause([]string{""}, until); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if c := e.Queue().Counts(); c.Done != 2 {
		t.Errorf("counts after the pause: %+v; want 2 done", c)
	}
	want := `"operator's pause ended" what="the whole crawl" until=` + until.Format(time.RFC3339)
	if got := strings.Count(log.String(), want); got != 1 {
		t.Errorf("log has %d lines %s; want 1. Log:\n%s", got, want, log.String())
	}
}

// A run that starts under holds placed before it (on the stopped crawl,
// or by the run before) logs each, so that an operator reading why
// nothing is fetched finds the pause there, as for one placed while it
// runs.
func TestStoredHoldIsLoggedAtStart(t *testing.T) {
	e, log := loggingEngine(t, `<html>a</html>`)
	// Stored without the engine, as `crawler pause` on a stopped crawl does.
	until := time.Now().Add(300 * time.Millisecond)
	if _, err := e.Queue().Hold(frontier.Hold{Until: until}, frontier.Hold{Host: "held.test"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"paused by the operator before this start" what="the whole crawl" until=` + until.Format(time.RFC3339),
		`"paused by the operator before this start" what=held.test` + "\n",
	} {
		if got := strings.Count(log.String(), want); got != 1 {
			t.Errorf("log has %d lines %s; want 1. Log:\n%s", got, want, log.String())
		}
	}
}

// loggingEngine returns an engine (ExitWhenIdle) crawling a site whose
// every page is page, and the buffer its log goes to.
func loggingEngine(t *testing.T, page string) (*Engine, *bytes.Buffer) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	cfg := testConfig(t, srv.URL+"/")
	db := openChecked(t, cfg)
	log := new(bytes.Buffer)
	e, err := New(Options{Config: cfg, DB: db, ExitWhenIdle: true, Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return e, log
}

// holdWatch reports a timed hold once, when its time has run out, even if
// other holds were placed or lifted meanwhile; not one that was lifted
// (Resume) or replaced before its end, nor one without an end.
func TestHoldWatch(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	hold := func(host string, d time.Duration) frontier.Hold {
		h := frontier.Hold{Host: host, Since: t0}
		if d > 0 {
			h.Until = t0.Add(d)
		}
		return h
	}
	var w holdWatch
	a, b, c, crawl := hold("a.test", time.Minute), hold("b.test", time.Minute), hold("c.test", time.Hour), hold("", 0)
	w.watch([]frontier.Hold{a, b, c, crawl}, t0)
	if got := w.ended(t0.Add(time.Second)); len(got) != 0 {
		t.Errorf("ended before any end: %v", got)
	}
	// At t0+2m a and b have run out; c is lifted, and b replaced, before
	// the next check.
	b2 := hold("b.test", 2*time.Hour)
	w.watch([]frontier.Hold{b2, crawl}, t0.Add(2*time.Minute))
	got := w.ended(t0.Add(2 * time.Minute))
	if len(got) != 1 || got[0] != a {
		t.Errorf("ended at t0+2m = %v; want a.test's hold alone", got)
	}
	if got := w.ended(t0.Add(3 * time.Minute)); len(got) != 0 {
		t.Errorf("ended again: %v; want each end once", got)
	}
	if got := w.ended(t0.Add(2 * time.Hour)); len(got) != 1 || got[0] != b2 {
		t.Errorf("ended at t0+2h = %v; want b.test's second hold", got)
	}
}

package testsite

import (
	"net/http"
	"testing"
	"time"
)

func get(t *testing.T, url, etag string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestLiveSite checks the validators of a live site: a 304 for the
// current ETag, a new ETag once the page changed, none on a site that
// is not live.
func TestLiveSite(t *testing.T) {
	s, err := Start(Options{Hosts: 1, Pages: 8, ChangeEvery: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	page := "http://" + s.Hosts()[0] + "/p/4" // a fourth page: it changes
	first := get(t, page, "")
	etag := first.Header.Get("ETag")
	if first.StatusCode != http.StatusOK || etag == "" || first.Header.Get("Last-Modified") == "" {
		t.Fatalf("first GET: %d, ETag %q, Last-Modified %q", first.StatusCode, etag, first.Header.Get("Last-Modified"))
	}
	if r := get(t, page, etag); r.StatusCode != http.StatusNotModified {
		t.Fatalf("GET with its ETag: %d, want 304", r.StatusCode)
	}
	steady := "http://" + s.Hosts()[0] + "/p/1"
	steadyTag := get(t, steady, "").Header.Get("ETag")
	time.Sleep(200 * time.Millisecond)
	if r := get(t, page, etag); r.StatusCode != http.StatusOK || r.Header.Get("ETag") == etag {
		t.Fatalf("after ChangeEvery: %d with ETag %q, want 200 with a new one", r.StatusCode, r.Header.Get("ETag"))
	}
	if r := get(t, steady, steadyTag); r.StatusCode != http.StatusNotModified {
		t.Fatalf("a page that never changes: %d, want 304", r.StatusCode)
	}
	if rep := s.Report(); rep.NotModified != 2 {
		t.Fatalf("NotModified = %d, want 2", rep.NotModified)
	}

	still, err := Start(Options{Hosts: 1, Pages: 8, FirstIP: "127.0.1.9"})
	if err != nil {
		t.Fatal(err)
	}
	defer still.Close()
	if r := get(t, "http://"+still.Hosts()[0]+"/p/4", ""); r.Header.Get("ETag") != "" {
		t.Fatalf("a site that is not live sends ETag %q", r.Header.Get("ETag"))
	}
}

// TestFlakyEvery checks that every FlakyEvery-th page request is a 503
// with Retry-After, and robots.txt is never one.
func TestFlakyEvery(t *testing.T) {
	s, err := Start(Options{Hosts: 1, Pages: 8, FlakyEvery: 3, FirstIP: "127.0.1.10"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var codes []int
	for range 6 {
		get(t, "http://"+s.Hosts()[0]+"/robots.txt", "")
		r := get(t, "http://"+s.Hosts()[0]+"/p/1", "")
		codes = append(codes, r.StatusCode)
		if r.StatusCode == http.StatusServiceUnavailable && r.Header.Get("Retry-After") != "1" {
			t.Fatalf("503 without Retry-After: 1")
		}
	}
	want := []int{200, 200, 503, 200, 200, 503}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("codes %v, want %v", codes, want)
		}
	}
	if rep := s.Report(); rep.Unavailable != 2 {
		t.Fatalf("Unavailable = %d, want 2", rep.Unavailable)
	}
}

// TestReportSpan checks First and Last: zero before any request, then the
// starts of the earliest and the latest request over all hosts.
func TestReportSpan(t *testing.T) {
	s, err := Start(Options{Hosts: 2, Pages: 4, FirstIP: "127.0.1.11"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rep := s.Report(); !rep.First.IsZero() || !rep.Last.IsZero() {
		t.Fatalf("before any request: First %v, Last %v", rep.First, rep.Last)
	}
	before := time.Now()
	get(t, "http://"+s.Hosts()[0]+"/p/1", "")
	time.Sleep(20 * time.Millisecond)
	middle := time.Now()
	get(t, "http://"+s.Hosts()[1]+"/p/2", "")
	after := time.Now()
	rep := s.Report()
	if rep.First.Before(before) || !rep.First.Before(middle) {
		t.Fatalf("First %v not in [%v, %v)", rep.First, before, middle)
	}
	if rep.Last.Before(middle) || rep.Last.After(after) {
		t.Fatalf("Last %v not in [%v, %v]", rep.Last, middle, after)
	}
}

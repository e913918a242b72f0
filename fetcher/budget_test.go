package fetcher

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Bodies of unknown length start small, so many read at once; one that
// outgrows its start takes everything up to its cap in one wait.
func TestBodyMemoryReservations(t *testing.T) {
	const maxBody = 10 << 20
	c := New(Options{BodyMemory: 1 << 20, AllowPrivateAddresses: true})
	defer c.Close()
	chunked := &http.Response{ContentLength: -1, Header: http.Header{}}
	quick := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	var resps []*Response
	for i := range 4 { // 4 × 256 KiB = the whole 1 MiB budget, no waiting
		r := &Response{}
		if _, err := c.reserve(quick(), r, chunked, maxBody); err != nil {
			t.Fatalf("reservation %d waited: %v", i+1, err)
		}
		resps = append(resps, r)
	}
	if _, err := c.reserve(quick(), &Response{}, chunked, maxBody); !errors.Is(err, ErrBodyMemory) {
		t.Fatalf("fifth reservation = %v; want it to wait for the budget", err)
	}
	resps[0].Release()
	resps[0].Release() // twice is harmless
	r := &Response{}
	res, err := c.reserve(quick(), r, chunked, maxBody)
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	// Outgrowing 256 KiB tops up to the cap (clamped to the budget):
	// impossible while three others hold theirs.
	if err := res.grow(512 << 10); !errors.Is(err, ErrBodyMemory) {
		t.Fatalf("grow while the budget is taken = %v; want a wait", err)
	}
	for _, x := range resps[1:] {
		x.Release()
	}
	res.ctx = context.Background()
	if err := res.grow(512 << 10); err != nil || res.held != 1<<20 {
		t.Fatalf("grow = %v, held %d; want the whole clamped cap", err, res.held)
	}
	r.Release()
	if !c.budget.TryAcquire(1 << 20) {
		t.Fatal("budget not fully returned")
	}
}

// A body with a Content-Length reserves exactly that, however large the cap.
func TestBodyMemoryKnownLength(t *testing.T) {
	c := New(Options{BodyMemory: 100, AllowPrivateAddresses: true})
	defer c.Close()
	res, err := c.reserve(context.Background(), &Response{}, &http.Response{ContentLength: 9, Header: http.Header{}}, 1<<20)
	if err != nil || res.held != 10 {
		t.Fatalf("reserve = %v, held %d; want 10 (Content-Length + 1)", err, res.held)
	}
}

// Two chunked bodies that both outgrow their start while the budget cannot
// hold one's start and the other's top-up do not wait on each other until
// Timeout: one tops up and completes, the other fails at once with a
// body-memory error (KindBodyMemory) instead of holding its start
// while it waits. Such a budget is below what config validation accepts
// for two fetches; Options reach the fetcher unchecked.
func TestBodyMemoryHoldAndWaitDeadlock(t *testing.T) {
	const (
		budget = 4 << 20
		size   = 300 << 10
	)
	gate := make(chan struct{})
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush() // chunked: no Content-Length
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write([]byte(strings.Repeat("x", size)))
	}))
	c := newClient(t, Options{BodyMemory: budget, MaxBodyBytes: budget, Timeout: 3 * time.Second})
	solo := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		_, _ = w.Write([]byte(strings.Repeat("x", size)))
	}))
	resp, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, solo.URL)})
	if err != nil || len(resp.Body) != size {
		t.Fatalf("solo fetch: %v", err)
	}
	resp.Release()
	start := time.Now()
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			resp, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL)})
			resp.Release()
			errs <- err
		}()
	}
	for c.budget.TryAcquire(budget - 2*unknownLengthStart + 1) {
		c.budget.Release(budget - 2*unknownLengthStart + 1)
		time.Sleep(time.Millisecond)
	}
	close(gate)
	ok := 0
	for range 2 {
		err := <-errs
		took := time.Since(start).Round(time.Millisecond)
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrBodyMemory) || errors.Is(err, context.DeadlineExceeded):
			t.Errorf("concurrent fetch failed after %v: %v; want success or an immediate body-memory error", took, err)
		default:
			wantKind(t, err, KindBodyMemory)
		}
		if took > time.Second {
			t.Errorf("concurrent fetch took %v: it waited on the other (Timeout 3s)", took)
		}
	}
	if ok == 0 {
		t.Error("neither fetch completed; want one to take the budget it can have")
	}
	if !c.budget.TryAcquire(budget) {
		t.Error("budget not fully returned")
	}
}

// A huge cap saturates instead of overflowing: bodies are read whole, and a
// body of unknown length still reserves from the budget.
func TestHugeMaxBodyBytesOverflow(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello")) }))
	c := newClient(t, Options{MaxBodyBytes: math.MaxInt64})
	resp, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, srv.URL)})
	if err != nil || string(resp.Body) != "hello" || resp.Truncated {
		t.Errorf("MaxBodyBytes=MaxInt64: err %v, body %q, truncated %v; want \"hello\"", err, resp.Body, resp.Truncated)
	}
	chunked := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		_, _ = w.Write(make([]byte, 300<<10))
	}))
	c = newClient(t, Options{MaxBodyBytes: 1 << 62, BodyMemory: 1 << 20})
	resp, err = c.Fetch(context.Background(), &Request{URL: mustParse(t, chunked.URL)})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Release()
	if c.budget.TryAcquire(1 << 20) {
		t.Errorf("holding a %d-byte body, yet the whole 1 MiB budget is free: nothing was reserved", len(resp.Body))
	}
}

// A Content-Length of MaxInt64 neither overflows the reservation nor the
// first buffer: the body is read up to the cap and cut there.
func TestHugeContentLength(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = conn.Read(make([]byte, 4096))
		_, _ = fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", int64(math.MaxInt64), strings.Repeat("x", 100))
	}()
	c := newClient(t, Options{MaxBodyBytes: 10, BodyMemory: 1 << 20})
	resp, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, "http://"+ln.Addr().String()+"/")})
	defer resp.Release()
	if err != nil || string(resp.Body) != strings.Repeat("x", 10) || !resp.Truncated {
		t.Fatalf("err %v, body %q, truncated %v; want 10 bytes, truncated", err, resp.Body, resp.Truncated)
	}
}

// Over HTTP/2 the transport reads a response ahead of Fetch into the heap,
// up to the stream's flow-control window, even while Fetch waits for body
// memory. Go's default window is 4 MiB per stream, so fetches waiting for
// the budget held far more than it outside it. The window is now 256 KiB:
// fetches waiting at once hold at most that much each.
func TestHTTP2BuffersInsideBudget(t *testing.T) {
	const maxBody, streams = 256 << 10, 8
	chunk := make([]byte, 16<<10)
	var started, overHTTP2 atomic.Int32
	srv, _ := newHTTP2Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/warm" {
			return
		}
		started.Add(1)
		if r.ProtoMajor == 2 {
			overHTTP2.Add(1)
		}
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}), nil)
	// The budget Options.BodyMemory asks for these fetches at once; the
	// test holds all of it, so every fetch waits for memory.
	budget := int64(streams*(256<<10) + 2*(maxBody+1))
	c := newClient(t, Options{BodyMemory: budget, MaxBodyBytes: maxBody, Timeout: 5 * time.Second})
	c.transport.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	c.transport.TLSClientConfig.NextProtos = nil // let the transport offer h2
	// The connection, and what its first use sets up once, are not what
	// is measured.
	get(t, c, srv.URL+"/warm").Release()
	if err := c.budget.Acquire(context.Background(), budget); err != nil {
		t.Fatal(err)
	}
	var before, during runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range streams {
		wg.Go(func() {
			resp, _ := c.Fetch(ctx, &Request{URL: mustParse(t, srv.URL)})
			resp.Release()
		})
	}
	// Loopback fills a window in milliseconds; give every stream ample time.
	for deadline := time.Now().Add(3 * time.Second); started.Load() < streams && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	runtime.GC()
	runtime.ReadMemStats(&during)
	cancel()
	wg.Wait()
	c.budget.Release(budget)

	if n, h2 := started.Load(), overHTTP2.Load(); n != streams || h2 != n {
		t.Fatalf("%d of %d requests arrived, %d of them over HTTP/2; want all over HTTP/2", n, streams, h2)
	}
	if grew := int64(during.HeapAlloc) - int64(before.HeapAlloc); grew > budget {
		t.Errorf("while %d fetches waited for body memory, the heap grew by %.1f MiB: more than the %.1f MiB budget",
			streams, float64(grew)/(1<<20), float64(budget)/(1<<20))
	}
}

// A fetch that gets no body memory within Timeout fails with
// KindBodyMemory, wrapping ErrBodyMemory, not KindTimeout: the server
// answered at once and the wait was the client's own, so the crawler must
// not hold it against the host. Only the caller cancelling the wait is
// reported as such.
func TestBodyMemoryWaitIsNotTimeout(t *testing.T) {
	const budget, timeout = 4 << 20, 500 * time.Millisecond
	fast := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<html>fast</html>"))
	}))
	grows := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush() // chunked: starts with 256 KiB, then tops up
		_, _ = w.Write(make([]byte, 300<<10))
	}))
	for _, tc := range []struct {
		name    string
		url     string
		held    int64         // bytes of the budget held elsewhere
		cancel  time.Duration // the caller cancels after this; 0: never
		want    Kind
		partial bool // a partial response comes with the error
	}{
		{"reservation", fast.URL, budget, 0, KindBodyMemory, false},
		{"top-up", grows.URL, budget - unknownLengthStart, 0, KindBodyMemory, true},
		{"caller cancels the wait", fast.URL, budget, 100 * time.Millisecond, KindCanceled, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, Options{BodyMemory: budget, MaxBodyBytes: 1 << 20, Timeout: timeout})
			if err := c.budget.Acquire(context.Background(), tc.held); err != nil {
				t.Fatal(err)
			}
			defer c.budget.Release(tc.held)
			ctx := context.Background()
			if tc.cancel > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(tc.cancel, cancel)
			}
			resp, err := c.Fetch(ctx, &Request{URL: mustParse(t, tc.url)})
			defer resp.Release()
			wantKind(t, err, tc.want)
			if !errors.Is(err, ErrBodyMemory) {
				t.Errorf("err %v does not wrap ErrBodyMemory", err)
			}
			if (resp != nil) != tc.partial {
				t.Errorf("response %v; want one: %v", resp != nil, tc.partial)
			}
		})
	}
}

// TestBudgetSharedOnReplacement: a client that replaces another (a reload)
// with the same BodyMemory draws on the same budget, so what the old
// client's bodies still hold counts against the new one's; with another
// BodyMemory it has a budget of its own.
func TestBudgetSharedOnReplacement(t *testing.T) {
	const budget = 1 << 20
	old := newClient(t, Options{BodyMemory: budget})
	same := newClient(t, Options{BodyMemory: budget, BudgetOf: old})
	other := newClient(t, Options{BodyMemory: 2 * budget, BudgetOf: old})
	none := newClient(t, Options{BudgetOf: old})
	if !old.budget.TryAcquire(budget) {
		t.Fatal("a fresh budget is spent")
	}
	defer old.budget.Release(budget)
	if same.budget.TryAcquire(1) {
		t.Error("the replacing client has memory the old client's bodies hold")
	}
	if !other.budget.TryAcquire(2 * budget) {
		t.Error("a client with another BodyMemory shares the old budget")
	}
	if none.budget != nil {
		t.Error("a client without BodyMemory has a budget")
	}
}

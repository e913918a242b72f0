package fetcher

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
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
	if _, err := c.reserve(quick(), &Response{}, chunked, maxBody); !errors.Is(err, errBodyMemory) {
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
	if err := res.grow(512 << 10); !errors.Is(err, errBodyMemory) {
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
// retryable body-memory error (KindTimeout) instead of holding its start
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
		case !errors.Is(err, errBodyMemory) || errors.Is(err, context.DeadlineExceeded):
			t.Errorf("concurrent fetch failed after %v: %v; want success or an immediate body-memory error", took, err)
		default:
			wantKind(t, err, KindTimeout) // retryable
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
